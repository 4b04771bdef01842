// Who is editing a field right now, for the "someone is editing" prompt (editing-prompt.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { listed, othersIn } from '../src/editing-prompt.js'

const ana = { id: 'u-ana', name: 'Ana' }
const bob = { id: 'u-bob', name: 'Bob' }
const me = { id: 'u-me', name: 'Me' }
/** @param {...Record<string, any>} states */
const states = (...states) => new Map(states.map((state, i) => [i + 1, state]))

test('another person in the field who focused or typed in it recently is editing it', () => {
  const all = states({ user: ana, field: 'name', active: 'name' }, { user: bob, field: 'name', active: null })
  assert.deepEqual(othersIn(all, me.id, 'name', { active: true }), ['Ana'])
  assert.deepEqual(othersIn(all, me.id, 'name', { active: false }), ['Ana', 'Bob'])
  assert.deepEqual(othersIn(all, me.id, 'email', { active: false }), [])
})

test('I am not someone else, in any tab; a person with two tabs is named once', () => {
  const all = states(
    { user: me, field: 'name', active: 'name' },
    { user: ana, field: 'name', active: 'name' },
    { user: ana, field: 'name', active: 'name' })
  assert.deepEqual(othersIn(all, me.id, 'name', { active: true }), ['Ana'])
})

test('a state without a user, or active in another field, does not count', () => {
  const all = states({ field: 'name', active: 'name' }, { user: ana, field: 'name', active: 'email' })
  assert.deepEqual(othersIn(all, me.id, 'name', { active: true }), [])
})

test('names are listed as a sentence', () => {
  assert.equal(listed(['Ana']), 'Ana')
  assert.equal(listed(['Ana', 'Bob']), 'Ana and Bob')
  assert.equal(listed(['Ana', 'Bob', 'Cy']), 'Ana, Bob and Cy')
})
