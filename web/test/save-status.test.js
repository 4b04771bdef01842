// The save indicator's state and words (save-status.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { STALLED, STALL_MS, Stall, cannotSave, describeSaveState, saveStateOf, unsavedText } from '../src/save-status.js'

const AT = new Date(2026, 2, 3, 9, 5)
const facts = { refused: null, connected: true, everConnected: true, offline: false, count: 0, savedAt: AT }

test('connected with nothing pending is saved, but only once the server has said what it stores', () => {
  assert.deepEqual(saveStateOf(facts), { state: 'saved', at: AT })
  assert.deepEqual(saveStateOf({ ...facts, savedAt: null }), { state: 'connecting' })
})

test('pending edits are saving while connected and kept while offline', () => {
  assert.deepEqual(saveStateOf({ ...facts, count: 2 }), { state: 'saving', count: 2 })
  assert.deepEqual(saveStateOf({ ...facts, connected: false, offline: true, count: 2 }), { state: 'offline', count: 2 })
})

test('"Offline" only when the device is: a dropped connection reconnects, failing attempts mean the server', () => {
  const dropped = { ...facts, connected: false, closes: 1, count: 2 }
  assert.deepEqual(saveStateOf(dropped), { state: 'reconnecting', count: 2 })
  assert.deepEqual(saveStateOf({ ...dropped, closes: 2 }), { state: 'unreachable', count: 2 })
  assert.deepEqual(saveStateOf({ ...dropped, closes: 5, offline: true }), { state: 'offline', count: 2 })
  // Never connected: the first failed attempt already says it.
  const first = { ...facts, connected: false, everConnected: false, count: 0 }
  assert.deepEqual(saveStateOf(first), { state: 'connecting' })
  assert.deepEqual(saveStateOf({ ...first, closes: 1 }), { state: 'unreachable', count: 0 })
})

test('refused changes (a lowered role) with edits pending: the honest state', () => {
  assert.deepEqual(saveStateOf({ ...facts, denied: true, count: 3 }), { state: 'denied', count: 3 })
  // Nothing lost: nothing to say beyond what is stored (a viewer's refused sync is harmless).
  assert.deepEqual(saveStateOf({ ...facts, denied: true }), { state: 'saved', at: AT })
})

test('a waiting state that does not move for STALL_MS becomes stuck, until it changes or moves', () => {
  const stall = new Stall()
  assert.equal(stall.check('saving', 0), false)
  assert.equal(stall.dueIn(0), STALL_MS)
  assert.equal(stall.check('saving', STALL_MS - 1), false)
  assert.equal(stall.dueIn(STALL_MS - 1), 1)
  assert.equal(stall.check('saving', STALL_MS), true)
  assert.equal(stall.dueIn(STALL_MS), null)
  assert.equal(stall.check('saving', STALL_MS + 5), true) // stays stuck
  assert.equal(stall.check('saving', STALL_MS + 6, true), false) // the server confirmed something
  assert.equal(stall.check('saved', 3 * STALL_MS), false)
  assert.equal(stall.check('saved', 10 * STALL_MS), false) // settled states never stall
  assert.equal(stall.dueIn(10 * STALL_MS), null)
  for (const kind of ['connecting', 'reconnecting']) {
    const waiting = new Stall(100)
    waiting.check(kind, 0)
    assert.equal(waiting.check(kind, 100), true)
    assert.equal(waiting.check('offline', 101), false) // a new state starts afresh
  }
})

test('before the first connection it is connecting, unless the browser is offline', () => {
  const first = { ...facts, connected: false, everConnected: false }
  assert.deepEqual(saveStateOf(first), { state: 'connecting' })
  assert.deepEqual(saveStateOf({ ...first, offline: true }), { state: 'offline', count: 0 })
})

test("the server's final close wins over everything", () => {
  const refused = { code: 4403, reason: 'forbidden' }
  assert.deepEqual(saveStateOf({ ...facts, refused, count: 1 }),
    { state: 'error', code: 4403, reason: 'forbidden', count: 1 })
})

test('the words', () => {
  assert.equal(describeSaveState({ state: 'connecting' }), 'Connecting…')
  assert.equal(describeSaveState({ state: 'saving', count: 3 }), 'Saving…')
  assert.equal(describeSaveState({ state: 'saved', at: AT }), 'Saved ✓ · 09:05')
  assert.equal(describeSaveState({ state: 'offline', count: 0 }), 'Offline — no unsaved changes')
  assert.equal(describeSaveState({ state: 'offline', count: 1 }), 'Offline — 1 change kept on this device')
  assert.equal(describeSaveState({ state: 'offline', count: 4 }), 'Offline — 4 changes kept on this device')
  assert.equal(describeSaveState({ state: 'error', code: 4400, reason: '', count: 0 }), 'Disconnected')
  assert.equal(describeSaveState({ state: 'error', code: 4400, reason: '', count: 2 }),
    'Not saved — 2 changes kept on this device')
  assert.equal(describeSaveState({ state: 'reconnecting', count: 1 }), 'Reconnecting…')
  assert.equal(describeSaveState({ state: 'unreachable', count: 0 }), "Can't reach the server — no unsaved changes")
  assert.equal(describeSaveState({ state: 'unreachable', count: 2 }),
    "Can't reach the server — 2 changes kept on this device")
  assert.equal(describeSaveState({ state: 'denied', count: 1 }),
    'You can no longer edit — 1 edit not saved, kept on this device')
  assert.equal(describeSaveState({ state: 'error', code: 4403, reason: '', count: 3 }),
    'You can no longer edit — 3 edits not saved, kept on this device')
  assert.equal(describeSaveState({ state: 'error', code: 4401, reason: '', count: 0 }), 'Disconnected')
  assert.equal(describeSaveState({ state: 'error', code: STALLED, reason: '', count: 0 }), 'No answer from the server')
  assert.equal(describeSaveState({ state: 'error', code: STALLED, reason: '', count: 2 }),
    'No answer from the server — 2 changes kept on this device')
})

test('the edits that can no longer be saved, to copy', () => {
  assert.equal(unsavedText([{ label: 'Name', value: 'Panda Logistics' }, { label: 'Revenue', value: 5000 },
    { label: 'Next call', value: null }]), 'Name: Panda Logistics\nRevenue: 5000\nNext call: ')
  assert.equal(cannotSave({ state: 'denied', count: 1 }), true)
  assert.equal(cannotSave({ state: 'error', code: 4403, reason: '', count: 1 }), true)
  assert.equal(cannotSave({ state: 'error', code: 4403, reason: '', count: 0 }), false)
  assert.equal(cannotSave({ state: 'error', code: 4404, reason: '', count: 1 }), false)
  assert.equal(cannotSave({ state: 'saving', count: 1 }), false)
})
