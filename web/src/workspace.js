// The workspace's pure rules: the address of a collection's list, which collection the app opens on, what
// "New record" calls a new record, and the tab's title. No DOM, so Node's test runner checks them.

/** The address of a collection's list. @param {string} name */
export const collectionHash = (name) => `#/c/${encodeURIComponent(name)}`

/**
 * The collection `#/` opens: the one the user was last in, if they may still read it, else the first.
 * @param {Array<{name: string}>} collections as the server lists them (those the user may read)
 * @param {string | null} last
 * @returns {string | null} null when there is no collection at all
 */
export function startCollection (collections, last) {
  if (last && collections.some((collection) => collection.name === last)) return last
  return collections[0]?.name ?? null
}

/**
 * Plural endings to their singular, the first that fits; English labels are what admins type.
 * @type {Array<[RegExp, string]>}
 */
const SINGULAR = [[/^people$/i, 'person'], [/ies$/i, 'y'], [/(ss|us|is)$/i, '$1'], [/(s|x|ch|sh)es$/i, '$1'], [/s$/i, '']]

/**
 * A label's singular, near enough for "New customer": lower-case, the last word made singular.
 * @param {string} label e.g. "Customers", "People", "Companies"
 */
export function singular (label) {
  const words = label.trim().toLowerCase().split(/\s+/)
  const last = words.pop() ?? ''
  const rule = SINGULAR.find(([pattern]) => pattern.test(last))
  const one = rule ? last.replace(rule[0], rule[1]) : last
  return [...words, one || last].join(' ')
}

/**
 * The fields a record made by "New record" starts with: its title field says "New <label>", or nothing
 * when the collection has no text field (its page then says "Untitled").
 * @param {string} label the collection's
 * @param {string | null} titleKey its first text field's key
 * @returns {Record<string, string>}
 */
export function newRecordFields (label, titleKey) {
  if (!titleKey) return {}
  const one = singular(label)
  return { [titleKey]: one ? `New ${one}` : 'New record' }
}

/** The tab's title for a page about `subject` (a record's title, a collection's label). @param {string} [subject] */
export const tabTitle = (subject) => (subject && subject.trim() ? `${subject.trim()} · collab` : 'collab')
