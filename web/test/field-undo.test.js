// A scalar field's own undo (field-undo.js): my steps only, and never over someone else's value.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FieldUndo } from '../src/field-undo.js'
import { diff } from '../src/text-diff.js'

/** Type `text` after what the field holds, a character at a time, 50 ms apart from `at`. */
function type (/** @type {FieldUndo} */ undo, /** @type {string} */ start, /** @type {string} */ text, at = 0) {
  let value = start
  ;[...text].forEach((char, i) => {
    const next = value + char
    undo.record(value === '' ? null : value, next, diff(value, next), at + i * 50)
    value = next
  })
  return value
}

test('undo goes back a word at a time to the empty field, the first character too; redo comes back', () => {
  const undo = new FieldUndo()
  assert.equal(type(undo, '', 'Panda Logistics'), 'Panda Logistics')
  assert.equal(undo.undo('Panda Logistics'), 'Panda')
  assert.equal(undo.undo('Panda'), null)
  assert.equal(undo.undo(null), undefined)
  assert.equal(undo.interrupted, false)
  assert.equal(undo.redo(null), 'Panda')
  assert.equal(undo.redo('Panda'), 'Panda Logistics')
  assert.equal(undo.redo('Panda Logistics'), undefined)
})

test('a new edit after an undo drops what could be redone', () => {
  const undo = new FieldUndo()
  const value = type(undo, '', 'ab cd')
  assert.equal(undo.undo(value), 'ab')
  type(undo, 'ab', 'X', 5000)
  assert.equal(undo.redo('abX'), undefined)
  assert.equal(undo.undo('abX'), 'ab')
})

test("someone else's value ends my steps: undo does not put mine back over theirs, and says so", () => {
  const undo = new FieldUndo()
  type(undo, '', 'Panda A')
  undo.overwritten('Panda B')
  assert.equal(undo.undo('Panda B'), undefined)
  assert.equal(undo.interrupted, true)
  // My next step is on their value, and undoing it gives theirs back.
  type(undo, 'Panda B', '!', 5000)
  assert.equal(undo.interrupted, false)
  assert.equal(undo.undo('Panda B!'), 'Panda B')
  assert.equal(undo.undo('Panda B'), undefined)
})

test('a stored value that is not what my step left stops undo too', () => {
  const undo = new FieldUndo()
  type(undo, '', 'Panda')
  assert.equal(undo.undo('Bear'), undefined)
  assert.equal(undo.interrupted, true)
  assert.equal(undo.undo('Panda'), undefined)
})

test('the same value arriving from elsewhere keeps my steps', () => {
  const undo = new FieldUndo()
  type(undo, '', 'ab cd')
  undo.overwritten('ab cd')
  assert.equal(undo.undo('ab cd'), 'ab')
  undo.overwritten('ab')
  assert.equal(undo.redo('ab'), 'ab cd')
})

test('numbers: a pause makes a step', () => {
  const undo = new FieldUndo()
  undo.record(null, 150000, diff('', '150000'), 0)
  undo.record(150000, 200000, diff('150000', '200000'), 5000)
  assert.equal(undo.undo(200000), 150000)
  assert.equal(undo.undo(150000), null)
})
