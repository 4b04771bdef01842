// Where one undo step ends (undo-steps.js): at word boundaries, line breaks, pastes and pauses.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PAUSE_MS, UndoSteps } from '../src/undo-steps.js'

/** Type `text` a character at a time, 50 ms apart; the text of each step. @param {string} text */
function stepsOf (text, steps = new UndoSteps()) {
  /** @type {string[]} */
  const found = []
  ;[...text].forEach((char, i) => {
    if (steps.starts({ inserted: char, deleted: 0 }, i * 50)) found.push('')
    found[found.length - 1] += char
  })
  return found
}

test('typing without a pause makes one step per word, the space starting the next', () => {
  assert.deepEqual(stepsOf('Met in Lyon'), ['Met', ' in', ' Lyon'])
  assert.deepEqual(stepsOf('Hi, Ana.'), ['Hi', ', Ana', '.'])
  assert.deepEqual(stepsOf('M'), ['M'])
})

test('a line break starts a step and the one after it too', () => {
  assert.deepEqual(stepsOf('one\ntwo'), ['one', '\n', 'two'])
})

test('a pause starts a step, even inside a word', () => {
  const steps = new UndoSteps()
  assert.equal(steps.starts({ inserted: 'a', deleted: 0 }, 0), true)
  assert.equal(steps.starts({ inserted: 'b', deleted: 0 }, PAUSE_MS - 1), false)
  assert.equal(steps.starts({ inserted: 'c', deleted: 0 }, 2 * PAUSE_MS - 1), true)
})

test('deleting after typing, and typing after deleting, start steps; a run of deletions is one', () => {
  const steps = new UndoSteps()
  assert.equal(steps.starts({ inserted: 'a', deleted: 0 }, 0), true)
  assert.equal(steps.starts({ inserted: '', deleted: 1 }, 10), true)
  assert.equal(steps.starts({ inserted: '', deleted: 1 }, 20), false)
  assert.equal(steps.starts({ inserted: 'b', deleted: 0 }, 30), true)
})

test('a paste is a step of its own', () => {
  const steps = new UndoSteps()
  assert.equal(steps.starts({ inserted: 'a', deleted: 0 }, 0), true)
  assert.equal(steps.starts({ inserted: 'pasted words', deleted: 0 }, 10), true)
  assert.equal(steps.starts({ inserted: 'b', deleted: 0 }, 20), true)
  assert.equal(steps.starts({ inserted: 'c', deleted: 0 }, 30), false)
})

test('after a reset (undo, redo, leaving the field) the next edit starts a step', () => {
  const steps = new UndoSteps()
  steps.starts({ inserted: 'a', deleted: 0 }, 0)
  steps.reset()
  assert.equal(steps.starts({ inserted: 'b', deleted: 0 }, 10), true)
})
