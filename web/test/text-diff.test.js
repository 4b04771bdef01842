// Where a caret goes when another value replaces a focused input's text (text-diff.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { diff, mapCaret } from '../src/text-diff.js'

test('the diff is the one span between the common prefix and suffix', () => {
  assert.deepEqual(diff('Panda', 'Panda Logistics'), { start: 5, end: 0, inserted: ' Logistics', deleted: 0 })
  assert.deepEqual(diff('Panda A', 'Panda B'), { start: 6, end: 0, inserted: 'B', deleted: 1 })
  assert.deepEqual(diff('abc', 'abc'), { start: 3, end: 0, inserted: '', deleted: 0 })
  // Prefix and suffix never overlap, even in a repeated letter.
  assert.deepEqual(diff('aa', 'aaa'), { start: 2, end: 0, inserted: 'a', deleted: 0 })
  assert.deepEqual(diff('', 'x'), { start: 0, end: 0, inserted: 'x', deleted: 0 })
})

test('a caret whose text before it is unchanged keeps its offset', () => {
  // Typing "Pan|" while the other person adds to the end.
  assert.equal(mapCaret('Pan', 'Panda Logistics', 3), 3)
  assert.equal(mapCaret('Panda', 'Panda B', 2), 2)
})

test('a caret after the change keeps its distance from the end', () => {
  // "Logistics|" while someone puts "Big " in front.
  assert.equal(mapCaret('Logistics', 'Big Logistics', 9), 13)
  assert.equal(mapCaret('Panda Logistics', 'Panda Logistics', 5), 5)
  assert.equal(mapCaret('Pan da', 'Panda', 6), 5)
})

test('a caret inside the replaced span goes to the end of what replaced it', () => {
  assert.equal(mapCaret('Panda Logistics', 'Panda Freight', 9), 13)
  assert.equal(mapCaret('abcdef', 'aXf', 3), 2)
})

test('a shorter text never puts the caret past its end', () => {
  assert.equal(mapCaret('Panda Logistics', 'Pa', 15), 2)
  assert.equal(mapCaret('Panda', '', 3), 0)
})
