// A table cell's value as words and back, and why a save was refused (cell-values.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { inputText, parseInput, refusal, valueText } from '../src/cell-values.js'

/** @param {string} type @param {Partial<import('../src/types.js').FieldSpec>} [more] @returns {import('../src/types.js').FieldSpec} */
const spec = (type, more = {}) => ({ key: 'k', label: 'K', type, ...more })

test('no value is shown as nothing, never "null" or "undefined"', () => {
  for (const type of ['text', 'number', 'boolean', 'date', 'select', 'decimal', 'multiselect', 'person', 'link']) {
    assert.equal(valueText(spec(type), null), '')
    assert.equal(valueText(spec(type), undefined), '')
  }
  assert.equal(valueText(spec('text'), [null, { name: 'Ann' }, {}]), 'Ann')
})

test('each type as words', () => {
  assert.equal(valueText(spec('boolean'), true), '✓')
  assert.equal(valueText(spec('boolean'), false), '')
  assert.equal(valueText(spec('number'), 1234.5), '1234.5')
  assert.match(valueText(spec('date'), '2026-03-03'), /2026/)
  assert.equal(valueText(spec('date'), 'not a date'), 'not a date')
  assert.equal(valueText(spec('multiselect'), ['a', 'b']), 'a, b')
  assert.equal(valueText(spec('text'), '<img src=x onerror=alert(1)>'), '<img src=x onerror=alert(1)>') // text, drawn as text
})

test('what is typed, as the field stores it, or what is needed', () => {
  assert.deepEqual(parseInput(spec('number'), ' 1e3 '), { value: 1000 })
  assert.deepEqual(parseInput(spec('number'), ''), { value: null })
  assert.deepEqual(parseInput(spec('number'), 'lots'), { problem: 'a number is needed' })
  assert.deepEqual(parseInput(spec('date'), '2026-03-03'), { value: '2026-03-03' })
  assert.deepEqual(parseInput(spec('date'), '3/3/26'), { problem: 'a date is needed' })
  assert.deepEqual(parseInput(spec('select', { options: ['lead', 'won'] }), 'won'), { value: 'won' })
  assert.deepEqual(parseInput(spec('select', { options: ['lead', 'won'] }), 'lost'), { problem: 'one of lead, won' })
  assert.deepEqual(parseInput(spec('text'), ' kept as typed '), { value: ' kept as typed ' })
  assert.deepEqual(parseInput(spec('text'), ''), { value: null })
  assert.deepEqual(parseInput(spec('decimal', { scale: 2 }), ' 1,234.5 '), { value: '1234.50' })
  assert.deepEqual(parseInput(spec('decimal', { scale: 2 }), ''), { value: null })
  assert.deepEqual(parseInput(spec('decimal', { scale: 2 }), '1.234'), { problem: 'at most 2 digits after the point' })
  assert.deepEqual(parseInput(spec('email'), ' ann@example.com '), { value: 'ann@example.com' })
  assert.deepEqual(parseInput(spec('email'), 'ann'), { problem: 'expected an email address like name@example.com' })
  assert.deepEqual(parseInput(spec('url'), ''), { value: null })
  assert.match(/** @type {any} */ (parseInput(spec('phone'), '12')).problem, /phone number/)
})

test('an input starts from the stored value', () => {
  assert.equal(inputText(spec('number'), 12), '12')
  assert.equal(inputText(spec('date'), '2026-03-03'), '2026-03-03')
  assert.equal(inputText(spec('text'), null), '')
  assert.equal(inputText(spec('decimal', { scale: 2 }), '1234.5'), '1234.50') // no separator: stored again as it was
})

test('a refused save says why, in the cell', () => {
  assert.equal(refusal({ status: 409, body: { message: 'email is taken by “Ann”' } }, 'email'), 'Not saved: email is taken by “Ann”')
  assert.equal(refusal({ status: 412, body: { message: 'stale' } }, 'k'), 'Not saved: the record changed meanwhile. Try again')
  assert.equal(refusal({ status: 422, body: { message: 'bad', fields: { k: 'expected a number' } } }, 'k'), 'Not saved: expected a number')
  assert.equal(refusal({ status: 0, body: null, message: 'x' }, 'k'), 'Not saved: you are offline or the server cannot be reached')
  assert.equal(refusal({ status: 404, body: null, message: 'x' }, 'k'), 'Not saved: this record was deleted')
})
