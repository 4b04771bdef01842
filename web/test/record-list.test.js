// The record list as data: what each change-feed event does to it (record-list.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SUMMARY_TEXT_CHARS } from '../src/constants.js'
import { applyEvent, summarize } from '../src/record-list.js'

const ANN = { id: 'u1', name: 'Ann' }
const BOB = { id: 'u2', name: 'Bob' }
/** @returns {import('../src/types.js').RecordData} */
const record = (/** @type {string} */ id, fields = {}) =>
  ({ id, fields, created_at: 't0', created_by: ANN, updated_at: 't0', updated_by: ANN })

test('long texts are shortened as the server shortens them in lists', () => {
  const long = 'x'.repeat(SUMMARY_TEXT_CHARS + 1)
  assert.deepEqual(summarize({ name: long, n: 3, short: 'ok' }),
    { name: 'x'.repeat(SUMMARY_TEXT_CHARS) + '…', n: 3, short: 'ok' })
  assert.deepEqual(summarize({ name: 'x'.repeat(SUMMARY_TEXT_CHARS) }), { name: 'x'.repeat(SUMMARY_TEXT_CHARS) })
  assert.deepEqual(summarize(undefined), {})
})

test('a created record goes on top, once', () => {
  const records = [record('a')]
  assert.equal(applyEvent(records, 'record.created', { record: 'b', at: 't1', by: BOB, fields: { name: 'B' } }, false), false)
  assert.deepEqual(records.map((r) => r.id), ['b', 'a'])
  assert.deepEqual(records[0], { id: 'b', fields: { name: 'B' }, created_at: 't1', created_by: BOB, updated_at: 't1', updated_by: BOB })
  applyEvent(records, 'record.created', { record: 'b', at: 't2', by: BOB, fields: {} }, false)
  assert.equal(records.length, 2)
})

test('while searching, only the server knows whether a new or edited record matches', () => {
  const records = [record('a', { name: 'A' })]
  assert.equal(applyEvent(records, 'record.created', { record: 'b', at: 't1', by: BOB }, true), true)
  assert.equal(records.length, 1)
  assert.equal(applyEvent(records, 'record.updated', { record: 'a', at: 't1', by: BOB, fields: { name: 'A2' } }, true), true)
  assert.equal(records[0].fields.name, 'A2')
})

test('an edit merges the changed fields and says who and when', () => {
  const records = [record('a', { name: 'A', city: 'Oslo' })]
  assert.equal(applyEvent(records, 'record.updated', { record: 'a', at: 't3', by: BOB, fields: { city: 'Bergen' } }, false), false)
  assert.deepEqual(records[0].fields, { name: 'A', city: 'Bergen' })
  assert.equal(records[0].updated_at, 't3')
  assert.deepEqual(records[0].updated_by, BOB)
  assert.equal(records[0].created_at, 't0')
  applyEvent(records, 'record.updated', { record: 'zz', at: 't4', by: BOB, fields: { city: 'X' } }, false)
  assert.equal(records.length, 1)
})

test('a deleted record goes; a restored one needs the server; unknown events change nothing', () => {
  const records = [record('a'), record('b')]
  assert.equal(applyEvent(records, 'record.deleted', { record: 'a', at: 't1', by: BOB }, false), false)
  assert.deepEqual(records.map((r) => r.id), ['b'])
  assert.equal(applyEvent(records, 'record.restored', { record: 'a', at: 't2', by: BOB }, false), true)
  assert.equal(applyEvent(records, 'record.renamed', { record: 'b', at: 't2', by: BOB }, false), false)
  assert.deepEqual(records.map((r) => r.id), ['b'])
})

test('a record.conflicts event sets the row\'s count of open conflicts, and nothing else', () => {
  const records = [record('a', { name: 'A' }), record('b')]
  assert.equal(applyEvent(records, 'record.conflicts', { record: 'a', at: 't1', by: BOB, fields: { open_conflicts: 2 } }, true), false)
  assert.deepEqual(records[0], { ...record('a', { name: 'A' }), open_conflicts: 2 })
  applyEvent(records, 'record.conflicts', { record: 'a', at: 't2', by: BOB, fields: { open_conflicts: 0 } }, false)
  assert.equal(records[0].open_conflicts, 0)
  applyEvent(records, 'record.conflicts', { record: 'zz', at: 't3', by: BOB, fields: { open_conflicts: 1 } }, false)
  assert.deepEqual(records.map((r) => r.id), ['a', 'b'])
})
