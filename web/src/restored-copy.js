// A record restored on the server (its epoch changed: `collab restore`) while this device kept a copy
// from before: that copy is never merged back (it would resurrect later edits and duplicate rich text).
// Its field values are set aside as a "restored copy" (localStorage, per user and record), the local
// document is deleted and the record opened afresh; then the person reviews, field by field, the values
// of theirs that differ from the server's: Apply mine (a normal edit of the fresh document) or Discard.
import * as Y from 'yjs'
import { h } from './dom.js'
import { forgetRecord, localName } from './local-store.js'
import { markdownBlock } from './markdown.js'
import { EMPTY, differences, mergeCopies, restoredHeading } from './restored-diff.js'

/**
 * One side of a difference as the page shows it: rich text (markdown) rendered and sanitised, else quoted.
 * @param {import('./restored-diff.js').Difference} difference @param {string} text
 */
const valueShown = (difference, text) =>
  difference.type === 'richtext' && text !== EMPTY ? markdownBlock(text) : h('q', {}, text)

/** Transaction origin of applying a value from the copy: not the controls' own, so they render it. */
const APPLIED = Symbol('restored copy applied')

/** @typedef {import('./local-store.js').Owner} Owner */

/** Next to the record's local name, so that signing out (local-store.js `forget`) deletes it too. */
/** @param {Owner} user @param {string} recordId */
const copyKey = (user, recordId) => `${localName(user, recordId)}:restored`

/**
 * The field values a document holds (a rich-text field's text).
 * @param {Y.Map<any>} fields
 * @returns {Record<string, unknown>}
 */
export function valuesOf (fields) {
  /** @type {Record<string, unknown>} */
  const values = {}
  for (const [key, value] of fields.entries()) values[key] = value instanceof Y.Text ? value.toString() : value
  return values
}

/**
 * The copy set aside for this record, or null.
 * @param {Owner} user
 * @param {string} recordId
 * @returns {Record<string, unknown> | null}
 */
export function restoredCopy (user, recordId) {
  try {
    const copy = JSON.parse(localStorage.getItem(copyKey(user, recordId)) ?? 'null')
    return copy && typeof copy === 'object' && !Array.isArray(copy) ? copy : null
  } catch {
    return null
  }
}

/**
 * @param {Owner} user
 * @param {string} recordId
 * @param {Record<string, unknown>} values what is left to review; nothing left forgets the copy
 */
function keepCopy (user, recordId, values) {
  if (Object.keys(values).length === 0) localStorage.removeItem(copyKey(user, recordId))
  else localStorage.setItem(copyKey(user, recordId), JSON.stringify(values))
}

/**
 * Set this device's copy of the record aside (its values, merged into an earlier copy not reviewed yet).
 * @param {Owner} user
 * @param {string} recordId
 * @param {Y.Map<any>} fields the document of the copy
 */
export const setAside = (user, recordId, fields) =>
  keepCopy(user, recordId, mergeCopies(restoredCopy(user, recordId), valuesOf(fields)))

/**
 * Set the copy aside, then `close()` it and delete it from this device: the record opens afresh after.
 * @param {Owner} user
 * @param {string} recordId
 * @param {Y.Map<any>} fields the document of the copy
 * @param {() => Promise<unknown>} close
 */
export async function setAsideAndForget (user, recordId, fields, close) {
  setAside(user, recordId, fields)
  await close()
  await forgetRecord(user, recordId)
}

/**
 * Write `value` into `fields` as an edit: a rich-text field's text is replaced, an empty value cleared.
 * @param {Y.Map<any>} fields
 * @param {string} key
 * @param {string} type
 * @param {unknown} value
 */
function apply (fields, key, type, value) {
  const doc = /** @type {Y.Doc} */ (fields.doc)
  doc.transact(() => {
    if (type === 'richtext') {
      const text = fields.get(key)
      const wanted = typeof value === 'string' ? value : ''
      if (text instanceof Y.Text) {
        text.delete(0, text.length)
        text.insert(0, wanted)
      } else {
        fields.set(key, new Y.Text(wanted))
      }
    } else if (value === null || value === undefined) {
      fields.delete(key)
    } else {
      fields.set(key, value)
    }
  }, APPLIED)
}

/**
 * The review panel of a record's restored copy; `refresh()` (once the fresh document holds the server's
 * state) shows the fields of the copy that differ from the record now, and forgets the copy if none does.
 * @param {Owner} user
 * @param {string} recordId
 * @param {import('./types.js').Collection} collection
 * @param {Y.Map<any>} fields the record's fresh document
 * @param {{canEdit: () => boolean}} options
 */
export function restoredReview (user, recordId, collection, fields, { canEdit }) {
  const element = h('section', { class: 'banner restored', role: 'region', 'aria-label': 'Your copy from before the restore', hidden: true, 'data-testid': 'restored-copy' })

  const refresh = () => {
    const copy = restoredCopy(user, recordId)
    const found = copy ? differences(collection.fields, copy, valuesOf(fields)) : []
    if (copy && found.length === 0) keepCopy(user, recordId, {})
    element.hidden = found.length === 0
    if (found.length === 0) {
      element.replaceChildren()
      return
    }
    /** @param {string} key */
    const settle = (key) => {
      const left = { ...(restoredCopy(user, recordId) ?? {}) }
      delete left[key]
      keepCopy(user, recordId, left)
      refresh()
    }
    element.replaceChildren(
      h('p', {}, restoredHeading(found.length)),
      h('ul', { class: 'restored-fields' }, ...found.map((difference) =>
        h('li', { 'data-field': difference.key, 'data-testid': `restored-${difference.key}` },
          h('strong', {}, difference.label),
          h('div', { class: 'restored-server' }, 'On the server: ', valueShown(difference, difference.serverText)),
          h('div', { class: 'restored-mine' }, 'Yours: ', valueShown(difference, difference.mineText)),
          canEdit() && h('button', {
            type: 'button',
            onclick: () => {
              apply(fields, difference.key, difference.type, difference.mine)
              settle(difference.key)
            }
          }, 'Apply mine'),
          h('button', { type: 'button', class: 'secondary', onclick: () => settle(difference.key) }, 'Discard')))),
      h('button', { type: 'button', class: 'secondary', onclick: () => { keepCopy(user, recordId, {}); refresh() } },
        'Discard all'))
  }
  return { element, refresh }
}
