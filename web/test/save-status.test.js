// The save indicator's state and words (save-status.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { describeSaveState, saveStateOf } from '../src/save-status.js'

const AT = new Date(2026, 2, 3, 9, 5)
const facts = { refused: null, connected: true, everConnected: true, offline: false, count: 0, savedAt: AT }

test('connected with nothing pending is saved, but only once the server has said what it stores', () => {
  assert.deepEqual(saveStateOf(facts), { state: 'saved', at: AT })
  assert.deepEqual(saveStateOf({ ...facts, savedAt: null }), { state: 'connecting' })
})

test('pending edits are saving while connected and kept while offline', () => {
  assert.deepEqual(saveStateOf({ ...facts, count: 2 }), { state: 'saving', count: 2 })
  assert.deepEqual(saveStateOf({ ...facts, connected: false, count: 2 }), { state: 'offline', count: 2 })
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
})
