// Exact decimal amounts (a `decimal` field: money, rates) as strings, never as JavaScript numbers: a
// float cannot hold 0.1 or 6000.00 exactly, and the server stores and sorts the string's exact value.
// Every operation here is on the characters, so what the person typed is what is stored, to the digit.
// Pure, so it is unit-tested without a browser (web/test/decimal.test.js).

/** The most significant digits a decimal holds, as the server counts them (collab/records/decimals.py). */
export const MAX_DIGITS = 18

/** The scales a decimal field may have: digits after the point. */
export const MAX_SCALE = 6

/** A decimal field's scale when its definition names none (the server's default). */
export const DEFAULT_SCALE = 2

/**
 * The digits after the point of a decimal field.
 * @param {{scale?: number}} spec
 */
export const scaleOf = (spec) => spec.scale ?? DEFAULT_SCALE

// The stored form: an optional minus, digits without leading zeros (one "0" before the point), and a
// fraction of exactly the field's scale.
const STORED = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/

/**
 * What a person typed, made the value to store: `{value}` (e.g. "1234.50" for scale 2), `{value: null}`
 * for an empty input (clears the field), or `{problem}` saying what is wrong. Accepts spaces around it, a
 * leading "+", and "," between groups of three digits ("1,234.5"); refuses more decimals than the scale
 * (rounding would change the amount behind the person's back) and exponents.
 * @param {string} text
 * @param {number} scale
 * @returns {{value: string | null, problem?: undefined} | {problem: string, value?: undefined}}
 */
export function parseDecimal (text, scale) {
  const trimmed = text.trim()
  if (trimmed === '') return { value: null }
  const match = trimmed.match(/^([+-]?)([0-9]{1,3}(?:,[0-9]{3})+|[0-9]*)(?:\.([0-9]*))?$/)
  const example = scale > 0 ? `e.g. 1234.${'5'.padEnd(scale, '0')}` : 'e.g. 1234'
  if (!match || (match[2] === '' && !match[3])) return { problem: `expected a number, ${example}` }
  const [, sign, whole, typed = ''] = match
  const fraction = typed.replace(/0+$/, '')
  if (fraction.length > scale) {
    return { problem: scale === 0 ? 'expected a whole number' : `at most ${scale} digit${scale === 1 ? '' : 's'} after the point` }
  }
  const digits = whole.replaceAll(',', '').replace(/^0+(?=[0-9])/, '') || '0'
  const padded = fraction.padEnd(scale, '0')
  if ((digits + padded).replace(/^0+/, '').length > MAX_DIGITS) return { problem: `at most ${MAX_DIGITS} significant digits` }
  const zero = /^0*$/.test(digits + padded)
  return { value: `${sign === '-' && !zero ? '-' : ''}${digits}${scale > 0 ? `.${padded}` : ''}` }
}

/**
 * Whether `value` is a stored decimal (a string in the stored form; any scale).
 * @param {unknown} value
 * @returns {value is string}
 */
export const isDecimal = (value) => typeof value === 'string' && STORED.test(value)

/**
 * A stored decimal for reading: "1234567.5" → "1,234,567.50" with scale 2 (the fraction padded to the
 * scale, never cut: what is stored is shown whole). Anything that is not a decimal is returned as text.
 * @param {unknown} value
 * @param {number} scale
 * @param {{group?: boolean}} [options] `group`: a thousands separator (on by default)
 */
export function formatDecimal (value, scale, { group = true } = {}) {
  if (!isDecimal(value)) return value === null || value === undefined ? '' : String(value)
  const negative = value.startsWith('-')
  const [whole, fraction = ''] = (negative ? value.slice(1) : value).split('.')
  const grouped = group ? whole.replace(/\B(?=([0-9]{3})+$)/g, ',') : whole
  const digits = fraction.padEnd(scale, '0')
  return `${negative ? '-' : ''}${grouped}${digits ? `.${digits}` : ''}`
}

/**
 * The text an input shows for a stored value: the stored form with the scale's zeros, no separators,
 * so editing it and storing again gives the same value.
 * @param {unknown} value
 * @param {number} scale
 */
export const inputText = (value, scale) => isDecimal(value) ? formatDecimal(value, scale, { group: false }) : ''

/**
 * Compare two stored decimals exactly (for sorting on this side): negative, zero or positive.
 * @param {string} a @param {string} b
 */
export function compareDecimals (a, b) {
  const negA = a.startsWith('-')
  const negB = b.startsWith('-')
  if (negA !== negB) return negA ? -1 : 1
  const [wholeA, fracA = ''] = (negA ? a.slice(1) : a).split('.')
  const [wholeB, fracB = ''] = (negB ? b.slice(1) : b).split('.')
  const width = Math.max(fracA.length, fracB.length)
  const keyA = wholeA.padStart(MAX_DIGITS, '0') + fracA.padEnd(width, '0')
  const keyB = wholeB.padStart(MAX_DIGITS, '0') + fracB.padEnd(width, '0')
  const order = keyA < keyB ? -1 : keyA > keyB ? 1 : 0
  return negA ? -order : order
}
