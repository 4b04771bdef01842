// Who is on a record and what is announced (roster.js): others are "away" before "left"; our own
// disconnect announces nobody leaving.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Roster } from '../src/roster.js'

/** @param {string} id @param {boolean} [leaving] */
const person = (id, leaving = false) => ({ id, name: id, fields: new Set(), leaving })
/** @param {...ReturnType<typeof person>} people */
const present = (...people) => new Map(people.map((p) => [p.id, p]))
const NONE = { joined: [], left: [] }

test('nothing is announced before the first sync', () => {
  const roster = new Roster(1000)
  assert.deepEqual(roster.update(present(person('bob')), 0), NONE)
})

test('someone whose connection drops is away for the grace period, then left', () => {
  const roster = new Roster(1000)
  roster.resume(present())
  assert.deepEqual(roster.update(present(person('bob')), 0), { joined: ['bob'], left: [] })
  assert.deepEqual(roster.update(present(), 10), NONE)
  assert.deepEqual(roster.shown(present()).map((p) => [p.name, p.away]), [['bob', true]])
  assert.equal(roster.dueIn(10), 1000)
  assert.deepEqual(roster.expire(1009), [])
  assert.deepEqual(roster.expire(1010), ['bob'])
  assert.deepEqual(roster.shown(present()), [])
  assert.equal(roster.dueIn(1010), null)
})

test('back within the grace period: no "left", no "joined"', () => {
  const roster = new Roster(1000)
  roster.resume(present(person('bob')))
  roster.update(present(), 0)
  assert.deepEqual(roster.update(present(person('bob')), 500), NONE)
  assert.deepEqual(roster.expire(5000), [])
  assert.deepEqual(roster.shown(present(person('bob'))).map((p) => p.away), [undefined])
})

test('someone who closes the record (leaving) is announced at once', () => {
  const roster = new Roster(1000)
  roster.resume(present(person('bob')))
  roster.update(present(person('bob', true)), 0)
  assert.deepEqual(roster.update(present(), 1), { joined: [], left: ['bob'] })
  assert.deepEqual(roster.shown(present()), [])
})

test('our own disconnect announces nobody; the next sync is a new baseline', () => {
  const roster = new Roster(1000)
  roster.resume(present(person('bob'), person('eve')))
  roster.pause()
  assert.deepEqual(roster.update(present(), 0), NONE)
  roster.resume(present(person('bob')))
  assert.deepEqual(roster.update(present(person('bob')), 1), NONE)
  assert.deepEqual(roster.expire(10_000), [])
})
