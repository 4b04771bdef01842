// Exact decimals as strings (decimal.js): what is typed is stored to the digit, never through a float.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compareDecimals, formatDecimal, inputText, isDecimal, parseDecimal, scaleOf } from '../src/decimal.js'

test('typed amounts become the stored form with the scale', () => {
  assert.deepEqual(parseDecimal('1234.5', 2), { value: '1234.50' })
  assert.deepEqual(parseDecimal('1234.50', 2), { value: '1234.50' })
  assert.deepEqual(parseDecimal(' 6000 ', 2), { value: '6000.00' })
  assert.deepEqual(parseDecimal('1,234,567.1', 2), { value: '1234567.10' })
  assert.deepEqual(parseDecimal('+0012.3', 1), { value: '12.3' })
  assert.deepEqual(parseDecimal('-0.5', 2), { value: '-0.50' })
  assert.deepEqual(parseDecimal('-0', 2), { value: '0.00' })
  assert.deepEqual(parseDecimal('.5', 3), { value: '0.500' })
  assert.deepEqual(parseDecimal('7', 0), { value: '7' })
  assert.deepEqual(parseDecimal('7.', 0), { value: '7' })
  // Beyond a float's precision (~15.9 digits), exactly; zeros beyond the scale are no decimals.
  assert.deepEqual(parseDecimal('1234567890123456.12', 2), { value: '1234567890123456.12' })
  assert.deepEqual(parseDecimal('1.500', 2), { value: '1.50' })
  assert.deepEqual(parseDecimal('0.1', 6), { value: '0.100000' })
})

test('empty clears; anything else that is not an amount is a problem', () => {
  assert.deepEqual(parseDecimal('', 2), { value: null })
  assert.deepEqual(parseDecimal('   ', 2), { value: null })
  for (const text of ['abc', '1e5', '1.2.3', '12,34', '--1', '.', '-', '1 000', 'NaN', 'Infinity', '0x10']) {
    assert.ok(parseDecimal(text, 2).problem, text)
  }
  assert.equal(parseDecimal('1.234', 2).problem, 'at most 2 digits after the point')
  assert.equal(parseDecimal('1.5', 0).problem, 'expected a whole number')
  assert.equal(parseDecimal('1.25', 1).problem, 'at most 1 digit after the point')
  assert.equal(parseDecimal('9'.repeat(17), 2).problem, 'at most 18 significant digits')
  assert.deepEqual(parseDecimal('9'.repeat(16), 2), { value: `${'9'.repeat(16)}.00` })
})

test('display: grouped, padded to the scale, never rounded', () => {
  assert.equal(formatDecimal('1234567.5', 2), '1,234,567.50')
  assert.equal(formatDecimal('-1234.5', 2), '-1,234.50')
  assert.equal(formatDecimal('999', 2), '999.00')
  assert.equal(formatDecimal('1000', 0), '1,000')
  assert.equal(formatDecimal('0.123456', 2), '0.123456')
  assert.equal(formatDecimal('12345678901234567890.12', 2), '12,345,678,901,234,567,890.12')
  assert.equal(formatDecimal('1234.50', 2, { group: false }), '1234.50')
  assert.equal(formatDecimal(null, 2), '')
  assert.equal(formatDecimal('oops', 2), 'oops')
  assert.equal(inputText('1234.5', 2), '1234.50')
  assert.equal(inputText(12, 2), '')
})

test('the stored form and exact order', () => {
  assert.ok(isDecimal('0.00'))
  assert.ok(isDecimal('-12.5'))
  assert.ok(!isDecimal('012'))
  assert.ok(!isDecimal('1e3'))
  assert.ok(!isDecimal(12.5))
  const sorted = ['10.00', '-2.5', '9.99', '0', '-10', '10.001', '100'].sort(compareDecimals)
  assert.deepEqual(sorted, ['-10', '-2.5', '0', '9.99', '10.00', '10.001', '100'])
  assert.equal(compareDecimals('1.50', '1.5'), 0)
})

test('a field without a scale has the server\'s default, 2', () => {
  assert.equal(scaleOf({}), 2)
  assert.equal(scaleOf({ scale: 0 }), 0)
})
