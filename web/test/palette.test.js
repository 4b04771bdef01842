// The command palette's choices (palette-items.js): collections by name, records by title, arrow keys.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_ITEMS, RECORDS_PER_COLLECTION, matches, moveActive, paletteItems, recordTitle } from '../src/palette-items.js'

const customers = { name: 'customers', label: 'Customers', fields: [{ key: 'notes', label: 'Notes', type: 'richtext' }, { key: 'name', label: 'Name', type: 'text' }] }
const people = { name: 'people', label: 'People', fields: [{ key: 'full_name', label: 'Full name', type: 'text' }] }
const bins = { name: 'bins', label: 'Bins', fields: [{ key: 'count', label: 'Count', type: 'number' }] }
/** @param {string} id @param {Record<string, unknown>} fields */
const record = (id, fields) => /** @type {any} */ ({ id, collection: 'x', fields })

test('every word typed must be in the text, ignoring case and accents', () => {
  assert.ok(matches('Café Müller', 'cafe mul'))
  assert.ok(matches('Customers customers', ''))
  assert.ok(!matches('Customers', 'cust x'))
})

test("a record's title is its collection's first text field, else Untitled", () => {
  assert.equal(recordTitle(customers, record('1', { name: ' Panda ', notes: 'x' })), 'Panda')
  assert.equal(recordTitle(customers, record('1', { name: '  ' })), 'Untitled')
  assert.equal(recordTitle(bins, record('1', { count: 3 })), 'Untitled')
})

test('an empty query lists every collection and no record', () => {
  const items = paletteItems('', [customers, people], [{ collection: customers, records: [record('1', { name: 'Panda' })] }])
  assert.deepEqual(items.map((item) => [item.kind, item.label, item.href]),
    [['collection', 'Customers', '#/c/customers'], ['collection', 'People', '#/c/people']])
})

test('a query gives matching collections first, then the records found, a few per collection', () => {
  const many = Array.from({ length: 8 }, (_, i) => record(`p${i}`, { full_name: `Peo ${i}` }))
  const items = paletteItems('peo', [customers, people], [
    { collection: customers, records: [record('c/1', { name: 'Peony shop' })] },
    { collection: people, records: many }
  ])
  assert.deepEqual(items[0], { kind: 'collection', href: '#/c/people', label: 'People', detail: 'Collection' })
  assert.deepEqual(items[1], { kind: 'record', href: '#/records/c%2F1', label: 'Peony shop', detail: 'Customers' })
  assert.equal(items.filter((item) => item.detail === 'People').length, RECORDS_PER_COLLECTION)
})

test('the list is capped', () => {
  const found = [customers, people].map((collection) => ({
    collection, records: Array.from({ length: 40 }, (_, i) => record(String(i), { name: 'x', full_name: 'x' }))
  }))
  const collections = Array.from({ length: 40 }, (_, i) => ({ name: `c${i}`, label: `x ${i}`, fields: [] }))
  assert.equal(paletteItems('x', collections, found).length, MAX_ITEMS)
})

test('arrows wrap around, and start at either end', () => {
  assert.equal(moveActive(-1, 1, 3), 0)
  assert.equal(moveActive(-1, -1, 3), 2)
  assert.equal(moveActive(2, 1, 3), 0)
  assert.equal(moveActive(0, -1, 3), 2)
  assert.equal(moveActive(1, 1, 3), 2)
  assert.equal(moveActive(0, 1, 0), -1)
})

test('records whose title has the words come before those the server found by another field', () => {
  const items = paletteItems('lyon', [], [
    { collection: customers, records: [record('1', { name: 'Panda', notes: 'Met in Lyon' }), record('2', { name: 'Lyon Foods' })] }
  ])
  assert.deepEqual(items.map((item) => item.label), ['Lyon Foods', 'Panda'])
})
