// What the table asks the list API for: its sort, filters and search as query parameters of
// `GET /api/records` (collab/records/list_query.py reads them), and the export links of the same view.
// Pure, so it is unit-tested (web/test/table-filters.test.js); table-filter-bar.js edits the state.
//
// A field filters by its kind, as the server defines it: text-like fields (text, richtext, select, email,
// url, phone, person) `contains` / `in`; number and decimal, date `gte` / `lte`; boolean `is`; any `empty`.
// A value the server would refuse (a half-typed number or date) is left out rather than sent, so typing
// never turns the table into an error; `problems` names what was left out.

/** @typedef {import('./types.js').FieldSpec} FieldSpec */

/** The column a field type sorts and filters by on the server (list_query.py KINDS); others do neither. */
export const KINDS = /** @type {Record<string, 'text' | 'number' | 'date' | 'bool'>} */ ({
  text: 'text',
  richtext: 'text',
  select: 'text',
  email: 'text',
  url: 'text',
  phone: 'text',
  person: 'text',
  number: 'number',
  decimal: 'number',
  date: 'date',
  boolean: 'bool'
})

/** The sort keys that are not fields: the record's own times. */
export const TIMES = ['created_at', 'updated_at']

/**
 * One field's filter as the bar holds it; every part optional, '' meaning "not set".
 * @typedef {{ contains?: string, gte?: string, lte?: string, in?: string[], is?: '' | 'true' | 'false',
 *   empty?: '' | '1' | '0' }} FieldFilter
 */

/**
 * The whole view: sort, order, search, per-field filters, who changed it last, how recently.
 * @typedef {{ sort: string, order: 'asc' | 'desc', q: string, fields: Record<string, FieldFilter>,
 *   updatedBy: string, updatedWithinDays: string }} View
 */

/** @returns {View} the collection's newest records first, nothing filtered */
export const defaultView = () => ({ sort: 'created_at', order: 'desc', q: '', fields: {}, updatedBy: '', updatedWithinDays: '' })

/** @param {string | undefined} type @returns {'text' | 'number' | 'date' | 'bool' | null} */
export const kindOf = (type) => (type && KINDS[type]) || null

const NUMBER = /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i
const DATE = /^\d{4}-\d{2}-\d{2}$/
const MAX_TEXT = 200
const MAX_CHOICES = 100
const MAX_DAYS = 36_500

/**
 * Whether the view is the newest-first list of everything: the only one a new record's place is known
 * in without asking the server (on top).
 * @param {FieldSpec[]} specs @param {View} view
 */
export function isPlain (specs, view) {
  return view.sort === 'created_at' && view.order === 'desc' && !Object.keys(listParams(specs, view).params)
    .some((name) => name.startsWith('f.') || name === 'q' || name === 'updated_by' || name === 'updated_within_days')
}

/**
 * The list API's parameters for `view` over a collection of these fields (sort and order included, no
 * collection, cursor or limit), and the filters left out because the server would refuse them.
 * @param {FieldSpec[]} specs
 * @param {View} view
 * @returns {{ params: Record<string, string>, problems: string[] }}
 */
export function listParams (specs, view) {
  /** @type {Record<string, string>} */
  const params = {}
  /** @type {string[]} */
  const problems = []
  const byKey = new Map(specs.map((spec) => [spec.key, spec]))
  const sortKind = TIMES.includes(view.sort) ? 'time' : kindOf(byKey.get(view.sort)?.type)
  if (sortKind) {
    params.sort = view.sort
    params.order = view.order === 'asc' ? 'asc' : 'desc'
  }
  const q = view.q.trim().slice(0, MAX_TEXT)
  if (q) params.q = q
  for (const [key, filter] of Object.entries(view.fields)) {
    const spec = byKey.get(key)
    const kind = kindOf(spec?.type)
    if (!spec || !kind) continue // a field gone from the schema, or one the server cannot filter
    const name = (/** @type {string} */ op) => `f.${key}.${op}`
    if (filter.empty === '1' || filter.empty === '0') params[name('empty')] = filter.empty
    if (kind === 'text') {
      const contains = (filter.contains ?? '').trim().slice(0, MAX_TEXT)
      if (contains) params[name('contains')] = contains
      const choices = (filter.in ?? []).filter((choice) => choice && !choice.includes(',')).slice(0, MAX_CHOICES)
      if (choices.length) params[name('in')] = choices.join(',')
    } else if (kind === 'bool') {
      if (filter.is === 'true' || filter.is === 'false') params[name('is')] = filter.is
    } else {
      const valid = kind === 'date' ? (/** @type {string} */ text) => DATE.test(text) : (/** @type {string} */ text) => NUMBER.test(text)
      for (const op of /** @type {const} */ (['gte', 'lte'])) {
        const text = (filter[op] ?? '').trim()
        if (!text) continue
        if (valid(text)) params[name(op)] = text
        else problems.push(`${spec.label}: ${kind === 'date' ? 'a date as YYYY-MM-DD' : 'a number'} is needed`)
      }
    }
  }
  if (view.updatedBy) params.updated_by = view.updatedBy
  const days = view.updatedWithinDays.trim()
  if (days) {
    const n = Number(days)
    if (Number.isInteger(n) && n >= 1 && n <= MAX_DAYS) params.updated_within_days = String(n)
    else problems.push(`Updated within: a whole number of days from 1 to ${MAX_DAYS} is needed`)
  }
  return { params, problems }
}

/**
 * How many filters are on (for the bar's "Filters (2)").
 * @param {FieldSpec[]} specs @param {View} view
 */
export const filterCount = (specs, view) => Object.keys(listParams(specs, view).params)
  .filter((name) => name.startsWith('f.') || name === 'updated_by' || name === 'updated_within_days').length

/**
 * The export of the current view (H5's `GET /api/collections/NAME/export`): its filters, sort and search,
 * and the visible columns in their order.
 * @param {string} collection @param {'csv' | 'json'} format @param {string[]} columns field keys
 * @param {Record<string, string>} params listParams' params
 */
export function exportHref (collection, format, columns, params) {
  const query = new URLSearchParams({ format, columns: columns.join(','), ...params })
  return `/api/collections/${encodeURIComponent(collection)}/export?${query}`
}

/**
 * The view with one field's filter changed (an empty filter removed).
 * @param {View} view @param {string} key @param {FieldFilter} filter
 * @returns {View}
 */
export function withFieldFilter (view, key, filter) {
  const fields = { ...view.fields }
  const set = Object.entries(filter).some(([, value]) => Array.isArray(value) ? value.length > 0 : Boolean(value))
  if (set) fields[key] = filter
  else delete fields[key]
  return { ...view, fields }
}

/**
 * The sort after a click on a column's header: that column ascending, then descending (the record's
 * times start descending: newest first), then back to newest first.
 * @param {View} view @param {string} key
 * @returns {View}
 */
export function toggledSort (view, key) {
  const first = TIMES.includes(key) ? 'desc' : 'asc'
  if (view.sort !== key) return { ...view, sort: key, order: first }
  if (view.order === first) return { ...view, order: first === 'asc' ? 'desc' : 'asc' }
  return { ...view, sort: 'created_at', order: 'desc' }
}
