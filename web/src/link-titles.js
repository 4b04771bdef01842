// The current title of a linked record: read from the server (`GET /api/records/ID`, the first text field
// of its collection), so a chip follows the target's renames. A record page asks `fresh` when it opens and
// when the feed says the target changed; tables and other read views share what was read in the last
// few seconds, so a column of links costs one request per distinct record. A target that answers 404 is a
// deleted record (or one of another tenant, which answers the same).
import * as api from './api.js'
import { titleField } from './fields.js'

/** @typedef {{title: string, deleted: boolean}} LinkTitle */

const SHARED_MS = 5_000
/** @type {Map<string, {at: number, title: Promise<LinkTitle>}>} */
const titles = new Map()
/** @type {Promise<import('./types.js').Collection[]> | null} */
let collections = null

/** The collections, read once per page load (a title field is the first text field of its schema). */
function schemas () {
  if (!collections) {
    collections = api.listCollections().catch((error) => {
      collections = null
      throw error
    })
  }
  return collections
}

/**
 * The title a linked record shows: its title field's text, "Untitled" when that is empty.
 * @param {import('./types.js').RecordData} record
 * @param {import('./types.js').Collection[]} known
 */
export function titleOfRecord (record, known) {
  const collection = known.find((c) => c.name === record.collection)
  const key = collection ? titleField(collection) : null
  const title = key ? record.fields?.[key] : null
  return typeof title === 'string' && title.trim() ? title : 'Untitled'
}

/**
 * The linked record's title, or `deleted` when the server does not have it (any more).
 * @param {string} id
 * @param {{fresh?: boolean}} [options] `fresh`: read it from the server now
 * @returns {Promise<LinkTitle>}
 */
export function linkTitle (id, { fresh = false } = {}) {
  const held = titles.get(id)
  if (held && !fresh && Date.now() - held.at < SHARED_MS) return held.title
  const title = (async () => {
    try {
      const [record, known] = await Promise.all([api.getRecord(id), schemas()])
      return { title: titleOfRecord(record, known), deleted: false }
    } catch (error) {
      if (error.status === 404) return { title: 'deleted record', deleted: true }
      titles.delete(id)
      throw error
    }
  })()
  titles.set(id, { at: Date.now(), title })
  return title
}

/**
 * The title shown for a record that a search or the feed already brought, so no request is needed.
 * @param {string} id @param {string} title
 */
export function knownTitle (id, title) {
  titles.set(id, { at: Date.now(), title: Promise.resolve({ title, deleted: false }) })
}
