// The browser's checks of typed values, the same rules as the server's (collab/records/schema.py), so a
// person sees the problem next to the field as they type instead of a correction afterwards. The server
// checks again and its answer wins. Also which links a value may become: only these checked schemes ever
// reach an `href`. Pure, so it is unit-tested (web/test/field-check.test.js).
import { parseDecimal, scaleOf } from './decimal.js'

/** @typedef {import('./types.js').FieldSpec} FieldSpec */

// The server's rules (collab/records/field_types.py), character for character.
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/
const URL_START = /^https?:\/\/[^/?#]/i
const URL_FORBIDDEN = /[\x00-\x20\x7f]/
const PHONE = /^\+?[0-9 ()\-.]+$/

/** @param {string} text @returns {string | null} */
export function emailProblem (text) {
  if (text.length > 254 || !EMAIL.test(text)) return 'expected an email address like name@example.com'
  return null
}

/** @param {string} text @returns {string | null} */
export function urlProblem (text) {
  if (text.length > 2048) return 'at most 2048 characters'
  let url = null
  try {
    url = new URL(text)
  } catch {}
  // The browser's URL parser forgives much ("http:example.com"): the text itself must say scheme://host.
  if (!url || !URL_START.test(text) || URL_FORBIDDEN.test(text) || !url.hostname) {
    return 'expected a web address starting with http:// or https://'
  }
  return null
}

/** @param {string} text @returns {string | null} */
export function phoneProblem (text) {
  const digits = text.replace(/[^0-9]/g, '').length
  if (!PHONE.test(text) || digits < 7 || digits > 20) {
    return 'expected a phone number: 7 to 20 digits, with + ( ) - . or spaces'
  }
  return null
}

/** @type {Record<string, (text: string) => string | null>} */
const TEXT_CHECKS = { email: emailProblem, url: urlProblem, phone: phoneProblem }

/**
 * What is wrong with `text` typed into a field of `spec`'s type, or null when it may be stored (an
 * empty text clears the field and is always fine here; `required` is said apart).
 * @param {FieldSpec} spec
 * @param {string} text
 * @returns {string | null}
 */
export function typedProblem (spec, text) {
  const trimmed = text.trim()
  if (trimmed === '') return null
  if (spec.type === 'decimal') return parseDecimal(trimmed, scaleOf(spec)).problem ?? null
  return TEXT_CHECKS[spec.type]?.(trimmed) ?? null
}

/**
 * The link a value of `spec` opens, or null: `mailto:` for a checked email, `tel:` for a checked phone
 * (its digits and a leading +), the address itself only for a checked http(s) URL. Never anything else:
 * a value like `javascript:…` stays text.
 * @param {FieldSpec} spec
 * @param {unknown} value
 * @returns {string | null}
 */
export function safeHref (spec, value) {
  if (typeof value !== 'string' || value.trim() === '') return null
  const text = value.trim()
  if (spec.type === 'email') return emailProblem(text) ? null : `mailto:${text}`
  if (spec.type === 'phone') return phoneProblem(text) ? null : `tel:${text.replace(/[^0-9+]/g, '')}`
  if (spec.type === 'url') return urlProblem(text) ? null : new URL(text).href
  return null
}

/**
 * Whether a field's value counts as empty (for `required`): nothing, blank text, an empty list.
 * @param {unknown} value
 */
export const isEmptyValue = (value) =>
  value === null || value === undefined || (typeof value === 'string' && value.trim() === '') ||
  (Array.isArray(value) && value.length === 0)
