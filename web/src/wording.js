// The words the app shows for values, people, changes and the server's notices. Pure functions, so they are
// unit-tested without a browser (web/test/wording.test.js).

/** @typedef {import('./types.js').Change} Change */
/** @typedef {import('./types.js').Person} Person */

/**
 * A field value in a sentence or a table cell: empty values read "(empty)", booleans yes/no, and
 * anything longer than `maxChars` is cut with "…".
 * @param {unknown} value
 * @param {number} maxChars
 */
export function shown (value, maxChars) {
  if (value === null || value === undefined || value === '') return '(empty)'
  if (typeof value === 'boolean') return value ? 'yes' : 'no'
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return text.length > maxChars ? `${text.slice(0, maxChars)}…` : text
}

/**
 * A person by name, else by email; `nobody` when there is no one (the server's own doing).
 * @param {Partial<Person> | null | undefined} person
 * @param {string} nobody
 */
export const nameOf = (person, nobody) => person?.name || person?.email || nobody

// How a change came about, when it was not typed into the record.
/** @type {Record<string, string>} */
const ORIGINS = { api: 'through the API', restore: 'put back' }

/** " (through the API)", or nothing for a live edit. @param {string} origin */
export const originWords = (origin) => ORIGINS[origin] ? ` (${ORIGINS[origin]})` : ''

/**
 * The sentence under a conflicting change: whose value lost, whose was kept.
 * @param {Change} change
 * @param {number} maxChars how much of each value to show
 */
export function conflictWords (change, maxChars) {
  return `Conflict: ${nameOf(change.lost?.user, 'Someone')} set ${shown(change.lost?.value, maxChars)} ` +
    `at the same time; ${nameOf(change.winner?.user, 'Someone')}'s ${shown(change.winner?.value, maxChars)} was kept.`
}

/**
 * The words for a notice of message type 101, or null for a kind this version does not know.
 * @param {unknown} notice the message's JSON
 */
export function describeNotice (notice) {
  if (typeof notice !== 'object' || notice === null) return null
  const { kind, fields } = /** @type {{kind?: unknown, fields?: unknown}} */ (notice)
  if (kind !== 'corrected' || typeof fields !== 'object' || fields === null) return null
  const parts = Object.entries(fields).map(([field, reason]) => `${field}: ${reason}`)
  return `The server corrected a value that does not fit — ${parts.join('; ')}`
}
