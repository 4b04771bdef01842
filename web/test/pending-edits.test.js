// The rules that confirm this device's edits (pending-edits.js): only what the server says is stored is.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BURST_MS, PendingEdits } from '../src/pending-edits.js'

const NOW = new Date('2026-03-03T10:42:00')
const stored = (/** @type {Array<[number, number]>} */ ...entries) => new Map(entries)

test('an edit is pending until the stored clock of its client reaches its own', () => {
  const edits = new PendingEdits()
  edits.add(7, 0, 3, true)
  assert.equal(edits.count, 1)
  assert.equal(edits.saved(stored([7, 2]), true, NOW), false)
  assert.equal(edits.count, 1)
  assert.equal(edits.saved(stored([7, 3]), true, NOW), true)
  assert.equal(edits.count, 0)
})

test("another client's stored clock confirms nothing of ours", () => {
  const edits = new PendingEdits()
  edits.add(7, 0, 3, true)
  edits.saved(stored([8, 100]), true, NOW)
  assert.equal(edits.count, 1)
})

test('a deletion is confirmed by a "saved" after it, never by the answer to sync step 1', () => {
  const edits = new PendingEdits()
  edits.connected()
  edits.add(7, 5, 5, true) // no clock moved: it only deleted
  assert.deepEqual(edits.kept(), [{ client: 7, clock: 5, deleteOnly: true }])
  edits.saved(stored(), true, NOW) // the answer to sync step 1
  assert.equal(edits.count, 1)
  edits.saved(stored(), true, NOW) // a commit after it was sent
  assert.equal(edits.count, 0)
})

test('a deletion made offline waits for the second "saved" of the next connection', () => {
  const edits = new PendingEdits()
  edits.add(7, 5, 5, false)
  edits.saved(stored(), false, NOW) // not connected: cannot confirm it
  assert.equal(edits.count, 1)
  edits.connected()
  edits.saved(stored(), true, NOW)
  assert.equal(edits.count, 1)
  edits.saved(stored(), true, NOW)
  assert.equal(edits.count, 0)
})

test('a deletion sent after some "saved" messages waits for one more', () => {
  const edits = new PendingEdits()
  edits.connected()
  edits.saved(stored(), true, NOW)
  edits.saved(stored(), true, NOW)
  edits.add(7, 5, 5, true)
  edits.saved(stored(), true, NOW)
  assert.equal(edits.count, 0)
})

test('edits kept from an earlier visit are confirmed like new ones, and kept without counts', () => {
  const kept = [{ client: 1, clock: 4 }, { client: 2, clock: 9, deleteOnly: true }]
  const edits = new PendingEdits(kept)
  edits.connected()
  assert.deepEqual(edits.kept(), kept)
  assert.notEqual(edits.kept()[0], kept[0]) // a copy: the caller's list is not changed
  edits.saved(stored([1, 4]), true, NOW)
  assert.deepEqual(edits.kept(), [{ client: 2, clock: 9, deleteOnly: true }])
})

test('savedAt: the first word from the server, then each time everything is confirmed', () => {
  const edits = new PendingEdits()
  assert.equal(edits.savedAt, null)
  edits.saved(stored(), true, NOW)
  assert.equal(edits.savedAt, NOW)
  edits.add(7, 0, 1, true)
  const later = new Date(NOW.getTime() + 60_000)
  edits.saved(stored([7, 1]), true, later)
  assert.equal(edits.savedAt, later)
  edits.saved(stored([7, 1]), true, new Date(NOW.getTime() + 120_000)) // nothing was pending
  assert.equal(edits.savedAt, later)
})

test('one field typed in one burst is one edit, not one per keystroke', () => {
  const edits = new PendingEdits()
  for (let i = 0; i < 20; i++) edits.add(7, i, i + 1, true, { field: 'name', at: i * 100 })
  assert.equal(edits.count, 1)
  assert.deepEqual(edits.kept(), [{ client: 7, clock: 20, field: 'name' }])
  edits.add(7, 20, 21, true, { field: 'email', at: 2000 }) // another field: another edit
  edits.add(7, 21, 22, true, { field: 'name', at: 1900 + BURST_MS + 1 }) // after a pause: another edit
  assert.equal(edits.count, 3)
  assert.deepEqual(edits.fields(), ['name', 'email'])
  edits.saved(stored([7, 19]), true, NOW)
  assert.equal(edits.count, 3) // the burst is pending until its last keystroke is stored
  edits.saved(stored([7, 21]), true, NOW)
  assert.deepEqual(edits.kept(), [{ client: 7, clock: 22, field: 'name' }])
})

test('a burst that also deleted waits for a "saved" after its last deletion', () => {
  const edits = new PendingEdits()
  edits.connected()
  edits.saved(stored(), true, NOW) // the answer to sync step 1
  edits.add(7, 0, 3, true, { field: 'name', at: 0 })
  edits.add(7, 3, 3, true, { field: 'name', at: 100 }) // a backspace
  assert.deepEqual(edits.kept(), [{ client: 7, clock: 3, deletes: true, field: 'name' }])
  edits.saved(stored([7, 3]), true, NOW) // a commit after it: both parts are stored
  assert.equal(edits.count, 0)

  const offline = new PendingEdits()
  offline.add(7, 5, 5, false, { field: 'name', at: 0 })
  offline.add(7, 5, 6, false, { field: 'name', at: 100 })
  assert.deepEqual(offline.kept(), [{ client: 7, clock: 6, deletes: true, field: 'name' }])
  offline.connected()
  offline.saved(stored([7, 6]), true, NOW) // the answer to sync step 1 confirms no deletion
  assert.equal(offline.count, 1)
  offline.saved(stored([7, 6]), true, NOW)
  assert.equal(offline.count, 0)
})

test("edits of another client (an earlier visit) are not joined to this one's", () => {
  const edits = new PendingEdits([{ client: 1, clock: 4, field: 'name' }])
  edits.add(2, 0, 1, true, { field: 'name', at: 0 })
  assert.equal(edits.count, 2)
})
