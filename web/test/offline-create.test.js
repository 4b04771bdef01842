// Records made offline (offline-create.js): ids like the server's, first values, retries.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { recordIdFrom, retryDelay, writeFirstValues } from '../src/offline-create.js'

test('ids are 32 lowercase hex digits, like the server\'s uuid4 hex', () => {
  const id = recordIdFrom(new Uint8Array(16).fill(0xff))
  assert.match(id, /^[0-9a-f]{32}$/)
  assert.equal(id, 'ffffffffffff4fffbfffffffffffffff')
  assert.equal(recordIdFrom(new Uint8Array(16)), '00000000000040008000000000000000')
  assert.notEqual(recordIdFrom(crypto.getRandomValues(new Uint8Array(16))),
    recordIdFrom(crypto.getRandomValues(new Uint8Array(16))))
})

test('first values are written once, as edits to confirm, rich text as a Y.Text', () => {
  const doc = new Y.Doc()
  const collection = {
    name: 'customers',
    label: 'Customers',
    fields: [{ key: 'name', label: 'Name', type: 'text' }, { key: 'notes', label: 'Notes', type: 'richtext' }]
  }
  const pending = writeFirstValues(doc, collection, { name: 'New customer', notes: 'Hi', nope: 1, gone: null })
  const fields = doc.getMap('fields')
  assert.equal(fields.get('name'), 'New customer')
  assert.ok(fields.get('notes') instanceof Y.Text)
  assert.equal(String(fields.get('notes')), 'Hi')
  assert.equal(fields.has('nope'), false)
  const clock = Y.getState(doc.store, doc.clientID)
  assert.deepEqual(pending, [
    { client: doc.clientID, clock, field: 'name' },
    { client: doc.clientID, clock, field: 'notes' }
  ])
})

test('retries back off, up to half a minute', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 10].map(retryDelay), [1000, 2000, 4000, 8000, 16000, 30000, 30000])
})
