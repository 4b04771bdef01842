// What a record page says about its open conflicts (conflict-notice.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { byField, canPutBack, conflictFields, markTitle, noticeWords } from '../src/conflict-notice.js'

const ann = { id: 'a', name: 'Ann' }
const bob = { id: 'b', name: 'Bob' }
/** @param {number} id @param {string} field @param {any} lostBy @param {any} lost @param {any} won */
const conflict = (id, field, lostBy, lost, won) => ({
  id, field, at: 't', winner: { value: won, user: lostBy === ann ? bob : ann }, lost: { value: lost, user: lostBy }
})

test('the loser gets the newest notice of each field; others a mark', () => {
  const fields = byField([
    conflict(3, 'revenue', ann, 200000, 150000),
    conflict(2, 'revenue', ann, 100, 150000),
    conflict(1, 'name', bob, 'Panda B', 'Panda A')
  ], 'a')
  assert.equal(fields.get('revenue')?.mine?.id, 3)
  assert.equal(fields.get('revenue')?.others, 0)
  assert.equal(fields.get('name')?.mine, null)
  assert.equal(fields.get('name')?.others, 1)
  assert.equal(fields.get('email'), undefined)
  assert.equal(byField([conflict(1, 'name', null, 'x', 'y')], 'a').get('name')?.others, 1)
})

test('the words of a notice and a mark', () => {
  assert.deepEqual(noticeWords(conflict(1, 'revenue', ann, 200000, 150000), 40), {
    won: "Bob's value won: «150000».",
    yours: 'Yours was «200000».'
  })
  assert.deepEqual(noticeWords(conflict(1, 'name', ann, 'abcdef', ''), 3), {
    won: "Bob's value won: «(empty)».",
    yours: 'Yours was «abc…».'
  })
  const richText = conflict(1, 'notes', ann, null, 'theirs')
  assert.equal(canPutBack(richText), false)
  assert.equal(canPutBack(conflict(1, 'name', ann, '', 'x')), true)
  assert.equal(noticeWords(richText, 10).yours, 'Your text was replaced and cannot be put back from here.')
  assert.equal(markTitle([conflict(1, 'name', bob, 'B', 'A')], 10), "Bob's «B» was replaced by Ann's «A».")
})

test('a conflicts notice names its fields; other notices are not one', () => {
  assert.deepEqual(conflictFields({ kind: 'conflicts', fields: ['revenue', 3] }), ['revenue'])
  assert.deepEqual(conflictFields({ kind: 'conflicts' }), [])
  assert.equal(conflictFields({ kind: 'corrected', fields: {} }), null)
  assert.equal(conflictFields(null), null)
  assert.equal(conflictFields('conflicts'), null)
})
