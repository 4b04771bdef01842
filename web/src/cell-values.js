// A cell's value as words and back: what a table cell shows for a field type (never "null" nor
// "undefined"), what its input starts from, what was typed parsed as the field stores it, and why a save
// was refused, in the cell's words. Pure (no DOM), so it is unit-tested (web/test/cell-values.test.js).
import { formatDecimal, inputText as decimalInput, isDecimal, parseDecimal, scaleOf } from './decimal.js'
import { typedProblem } from './field-check.js'
import { onDate } from './time.js'

/** @typedef {import('./types.js').FieldSpec} FieldSpec */

/**
 * A value as plain text: what a cell without a richer rendering shows, and what an input starts with.
 * Never "null" nor "undefined".
 * @param {FieldSpec} spec @param {unknown} value
 * @returns {string}
 */
export function valueText (spec, value) {
  if (value === null || value === undefined || value === '') return ''
  switch (spec.type) {
    case 'boolean': return value === true ? '✓' : ''
    case 'date': return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? onDate(`${value}T00:00:00`) : String(value)
    case 'decimal': return isDecimal(value) ? formatDecimal(/** @type {string} */ (value), spec.scale ?? 2) : String(value)
    default: break
  }
  if (Array.isArray(value)) return value.map((item) => itemText(item)).filter(Boolean).join(', ')
  return itemText(value)
}

/** @param {unknown} item */
function itemText (item) {
  if (item === null || item === undefined) return ''
  if (typeof item === 'object') {
    const named = /** @type {Record<string, unknown>} */ (item)
    for (const key of ['title', 'name', 'label', 'email', 'id']) {
      if (typeof named[key] === 'string' && named[key]) return /** @type {string} */ (named[key])
    }
    return ''
  }
  return String(item)
}

/**
 * The value typed into a cell's input as the field stores it, or an error saying what is needed (the
 * typed text is kept by the caller).
 * @param {FieldSpec} spec @param {string} text
 * @returns {{ value: unknown } | { problem: string }}
 */
export function parseInput (spec, text) {
  const trimmed = text.trim()
  switch (spec.type) {
    case 'number': {
      if (!trimmed) return { value: null }
      const number = Number(trimmed)
      return Number.isFinite(number) ? { value: number } : { problem: 'a number is needed' }
    }
    case 'date':
      if (!trimmed) return { value: null }
      return /^\d{4}-\d{2}-\d{2}$/.test(trimmed) ? { value: trimmed } : { problem: 'a date is needed' }
    case 'select':
      if (!trimmed) return { value: null }
      return (spec.options ?? []).includes(trimmed) ? { value: trimmed } : { problem: `one of ${(spec.options ?? []).join(', ')}` }
    case 'decimal': {
      const parsed = parseDecimal(trimmed, scaleOf(spec))
      return parsed.problem === undefined ? { value: parsed.value } : { problem: parsed.problem }
    }
    case 'email':
    case 'url':
    case 'phone': {
      if (!trimmed) return { value: null }
      const problem = typedProblem(spec, trimmed)
      return problem ? { problem } : { value: trimmed }
    }
    default:
      return { value: text === '' ? null : text }
  }
}

/**
 * The text an input starts from when editing a value.
 * @param {FieldSpec} spec @param {unknown} value
 */
export function inputText (spec, value) {
  if (value === null || value === undefined) return ''
  if (spec.type === 'number' || spec.type === 'text' || spec.type === 'date' || spec.type === 'select') return String(value)
  if (spec.type === 'decimal') return decimalInput(value, scaleOf(spec)) // no separators: stored again as it was
  return valueText(spec, value)
}

/**
 * Why a save failed, in the cell's words; the typed value stays.
 * @param {any} error an ApiError @param {string} key the field
 */
export function refusal (error, key) {
  const said = error.body?.fields?.[key] ?? error.body?.message ?? error.message
  switch (error.status) {
    case 0: return 'Not saved: you are offline or the server cannot be reached'
    case 403: return 'Not saved: you may not edit this record'
    case 404: return 'Not saved: this record was deleted'
    case 409: return `Not saved: ${said}`
    case 412: return 'Not saved: the record changed meanwhile. Try again'
    case 422: return `Not saved: ${said}`
    default: return `Not saved: ${said}`
  }
}
