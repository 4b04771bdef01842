// The rules that confirm this device's edits (pending-edits.js): only what the server says is stored is.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PendingEdits } from '../src/pending-edits.js'

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
