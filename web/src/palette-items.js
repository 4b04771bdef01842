// What the command palette (palette.js) offers for what is typed: the collections whose name matches, then
// the records the server's search found in each collection, those whose title has the words first. Pure,
// so Node's test runner checks it (web/test/palette.test.js).
import { collectionHash } from './workspace.js'

/** @typedef {import('./types.js').Collection} Collection */
/** @typedef {import('./types.js').RecordData} RecordData */
/**
 * One choice: where it goes (`href`), what it says, and a second line (the kind, or the collection).
 * @typedef {{kind: 'collection' | 'record', href: string, label: string, detail: string}} PaletteItem
 */

/** Records listed per collection, so that one collection full of matches does not hide the others. */
export const RECORDS_PER_COLLECTION = 5
/** The collections searched at once for records: a tenant's first few, in parallel. */
export const SEARCHED_COLLECTIONS = 10
/** The longest list shown. */
export const MAX_ITEMS = 30

/** @param {string} text */
const fold = (text) => text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase()

/**
 * Whether `query` matches `text`: every word of the query is in it, ignoring case and accents.
 * @param {string} text @param {string} query
 */
export function matches (text, query) {
  const haystack = fold(text)
  return fold(query).split(/\s+/).filter(Boolean).every((word) => haystack.includes(word))
}

/**
 * A record's title: its collection's first text field (the rule of fields.js `titleField`), else "Untitled".
 * @param {Collection} collection @param {RecordData} record
 */
export function recordTitle (collection, record) {
  const key = collection.fields.find((spec) => spec.type === 'text')?.key
  const title = key ? record.fields?.[key] : null
  return typeof title === 'string' && title.trim() ? title.trim() : 'Untitled'
}

/**
 * The choices for `query`: matching collections first (all of them for an empty query), then records.
 * @param {string} query
 * @param {Collection[]} collections
 * @param {Array<{collection: Collection, records: RecordData[]}>} found the server's answers, per collection
 * @returns {PaletteItem[]}
 */
export function paletteItems (query, collections, found) {
  /** @type {PaletteItem[]} */
  const items = collections
    .filter((collection) => matches(`${collection.label} ${collection.name}`, query))
    .map((collection) => ({ kind: 'collection', href: collectionHash(collection.name), label: collection.label, detail: 'Collection' }))
  if (query.trim()) {
    /** @type {PaletteItem[]} */
    const records = []
    for (const { collection, records: listed } of found) {
      for (const record of listed.slice(0, RECORDS_PER_COLLECTION)) {
        records.push({ kind: 'record', href: `#/records/${encodeURIComponent(record.id)}`, label: recordTitle(collection, record), detail: collection.label })
      }
    }
    // The server's search also looks at other fields: records named by what was typed come first.
    const named = records.filter((item) => matches(item.label, query))
    items.push(...named, ...records.filter((item) => !named.includes(item)))
  }
  return items.slice(0, MAX_ITEMS)
}

/**
 * The choice active after an arrow key: down from the last goes to the first, up from the first to the last.
 * @param {number} active the index now (-1: none)
 * @param {number} step +1 or -1
 * @param {number} count how many choices there are
 */
export function moveActive (active, step, count) {
  if (count === 0) return -1
  if (active < 0) return step > 0 ? 0 : count - 1
  return (active + step + count) % count
}
