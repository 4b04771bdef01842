// Which fields of a copy kept from before a restore are offered, and how their values read (restored-diff.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EMPTY, differences, mergeCopies, restoredHeading, sameValue, valueText } from '../src/restored-diff.js'

const specs = [
  { key: 'name', label: 'Name', type: 'text' },
  { key: 'notes', label: 'Notes', type: 'richtext' },
  { key: 'revenue', label: 'Revenue', type: 'number' },
  { key: 'active', label: 'Active', type: 'boolean' }
]

test('only fields whose value in my copy differs from the server are offered, in the fields order', () => {
  const found = differences(specs,
    { notes: 'Hello world', name: 'Acme Ltd', revenue: 5, extra: 'not a field' },
    { name: 'Acme', notes: 'Hello', revenue: 5, active: true })
  assert.deepEqual(found.map((d) => d.key), ['name', 'notes'])
  assert.deepEqual(found[1], {
    key: 'notes', label: 'Notes', type: 'richtext', mine: 'Hello world', mineText: 'Hello world', serverText: 'Hello'
  })
})

test('a field my copy does not hold is not offered; empty values are equal however written', () => {
  assert.deepEqual(differences(specs, {}, { name: 'Acme' }), [])
  assert.deepEqual(differences(specs, { name: '', notes: null }, { notes: '' }), [])
  const cleared = differences(specs, { name: null }, { name: 'Acme' })
  assert.equal(cleared.length, 1)
  assert.equal(cleared[0].mineText, EMPTY)
  assert.equal(cleared[0].serverText, 'Acme')
})

test('values read as text', () => {
  assert.equal(valueText(true), 'Yes')
  assert.equal(valueText(false), 'No')
  assert.equal(valueText(1250.5), '1250.5')
  assert.equal(valueText('<b>as typed</b>'), '<b>as typed</b>')
  assert.equal(valueText(undefined), EMPTY)
  assert.ok(sameValue(3, 3) && !sameValue(3, '3'))
})

test('the heading counts the fields; a newer copy wins per field', () => {
  assert.equal(restoredHeading(1), 'This record was restored on the server. Your copy from before has 1 field that differs:')
  assert.match(restoredHeading(2), /has 2 fields that differ:$/)
  assert.deepEqual(mergeCopies({ a: 1, b: 2 }, { b: 3 }), { a: 1, b: 3 })
  assert.deepEqual(mergeCopies(null, { b: 3 }), { b: 3 })
})
