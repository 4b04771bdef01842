// The browser's checks of typed emails, web addresses, phone numbers and amounts, and the links they make.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isEmptyValue, safeHref, typedProblem } from '../src/field-check.js'

/** @param {string} type @param {Partial<import('../src/types.js').FieldSpec>} [more] */
const spec = (type, more = {}) => ({ key: 'f', label: 'F', type, ...more })

test('email', () => {
  for (const ok of ['ann@example.com', 'a.b+c@mail.example.co.uk', 'x@y.io']) assert.equal(typedProblem(spec('email'), ok), null, ok)
  for (const bad of ['ann', 'ann@', 'ann@example', '@example.com', 'a b@example.com', 'ann@@example.com', 'ann@example.c', 'ann@-x.com', `${'a'.repeat(65)}@example.com`]) {
    assert.match(typedProblem(spec('email'), bad) ?? '', /email address/, bad)
  }
})

test('url', () => {
  for (const ok of ['https://example.com', 'http://example.com/a?b=c#d']) assert.equal(typedProblem(spec('url'), ok), null, ok)
  for (const bad of ['example.com', 'javascript:alert(1)', 'ftp://example.com', 'https://', 'http://exa mple.com', 'data:text/html,x', 'http:example.com', 'https:/example.com']) {
    assert.ok(typedProblem(spec('url'), bad), bad)
  }
})

test('phone', () => {
  for (const ok of ['+44 20 7946 0958', '(555) 123-4567', '555.123.4567', '1234567']) assert.equal(typedProblem(spec('phone'), ok), null, ok)
  for (const bad of ['123456', '+1 (555) abc', '1'.repeat(21), '555+1234567']) assert.ok(typedProblem(spec('phone'), bad), bad)
})

test('decimal and empty input', () => {
  assert.equal(typedProblem(spec('decimal', { scale: 2 }), '12.5'), null)
  assert.equal(typedProblem(spec('decimal', { scale: 2 }), '12.555'), 'at most 2 digits after the point')
  assert.equal(typedProblem(spec('email'), '  '), null)
  assert.equal(typedProblem(spec('text'), 'anything'), null)
})

test('only checked schemes become links', () => {
  assert.equal(safeHref(spec('email'), 'ann@example.com'), 'mailto:ann@example.com')
  assert.equal(safeHref(spec('phone'), '+44 (20) 7946-0958'), 'tel:+442079460958')
  assert.equal(safeHref(spec('url'), 'https://example.com/x'), 'https://example.com/x')
  assert.equal(safeHref(spec('url'), 'javascript:alert(1)'), null)
  assert.equal(safeHref(spec('url'), 'JAVASCRIPT://example.com/%0aalert(1)'), null)
  assert.equal(safeHref(spec('email'), 'javascript:alert(1)//@x.com'), null)
  assert.equal(safeHref(spec('text'), 'https://example.com'), null)
  assert.equal(safeHref(spec('url'), 42), null)
})

test('empty values', () => {
  assert.ok(isEmptyValue(null))
  assert.ok(isEmptyValue(' '))
  assert.ok(isEmptyValue([]))
  assert.ok(!isEmptyValue(false))
  assert.ok(!isEmptyValue(0))
  assert.ok(!isEmptyValue(['a']))
})
