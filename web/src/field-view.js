// A field value for reading (table cells, read-only views): `renderValue(spec, value)` gives a Node for
// every field type. Safe by construction: text only ever goes into `textContent`, and an `href` only
// comes from a checked email, phone or http(s) address (field-check.js `safeHref`) or a record id;
// a `javascript:` value stays text. People and linked titles fill in when they are known.
import { formatDecimal, scaleOf } from './decimal.js'
import { h } from './dom.js'
import { safeHref } from './field-check.js'
import { linkTitle } from './link-titles.js'
import { personView } from './person-picker.js'

/** @typedef {import('./types.js').FieldSpec} FieldSpec */

const EMPTY = ''

/**
 * The linked record as a chip that opens it; "deleted record", struck through, when it is gone.
 * @param {string} id
 */
export function linkChip (id) {
  const link = h('a', { href: `#/records/${encodeURIComponent(id)}`, class: 'chip-title' }, '…')
  const chip = h('span', { class: 'chip', 'data-id': id, 'data-testid': 'link-chip' }, link)
  linkTitle(id).then(({ title, deleted }) => {
    link.textContent = title
    chip.classList.toggle('deleted', deleted)
  }, () => { link.textContent = 'record' })
  return chip
}

/**
 * The words of a value without links or chips (a title, a sentence, a CSV cell shown as text).
 * @param {FieldSpec} spec
 * @param {unknown} value
 */
export function valueText (spec, value) {
  if (value === null || value === undefined) return EMPTY
  switch (spec.type) {
    case 'boolean': return value === true ? 'yes' : value === false ? 'no' : String(value)
    case 'decimal': return formatDecimal(value, scaleOf(spec))
    case 'multiselect': return Array.isArray(value) ? value.map(String).join(', ') : String(value)
    case 'link': return Array.isArray(value) ? `${value.length} linked` : String(value)
    default: return typeof value === 'string' ? value : JSON.stringify(value)
  }
}

/**
 * A value of `spec` for reading.
 * @param {FieldSpec} spec
 * @param {unknown} value
 * @returns {Node}
 */
export function renderValue (spec, value) {
  if (value === null || value === undefined || value === '') return document.createTextNode(EMPTY)
  switch (spec.type) {
    case 'email':
    case 'url':
    case 'phone': {
      const href = safeHref(spec, value)
      const text = String(value)
      if (!href) return document.createTextNode(text)
      const link = h('a', { href, class: 'value-link' }, text)
      if (spec.type === 'url') {
        link.target = '_blank'
        link.rel = 'noopener noreferrer'
      }
      return link
    }
    case 'decimal':
      return h('span', { class: 'decimal' }, formatDecimal(value, scaleOf(spec)))
    case 'multiselect':
      return Array.isArray(value)
        ? h('span', { class: 'chips' }, ...value.map((option) => h('span', { class: 'chip' }, String(option))))
        : document.createTextNode(String(value))
    case 'person':
      return typeof value === 'string' ? personView(value) : document.createTextNode(EMPTY)
    case 'link':
      return Array.isArray(value)
        ? h('span', { class: 'chips' }, ...value.filter((id) => typeof id === 'string').map(linkChip))
        : document.createTextNode(EMPTY)
    default:
      return document.createTextNode(valueText(spec, value))
  }
}
