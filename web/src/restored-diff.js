// What to offer from a copy of a record kept from before the server restored it (restored-copy.js): the
// fields whose value in that copy differs from the server's now, with both values as text to show.
// Pure: values in, differences out.

/** @typedef {import('./types.js').FieldSpec} FieldSpec */
/**
 * One field to review: my value from before the restore, and the server's now, as the page shows them.
 * @typedef {{key: string, label: string, type: string, mine: unknown, mineText: string, serverText: string}} Difference
 */

/** Shown for a field that holds nothing. */
export const EMPTY = '(empty)'

/**
 * A field's value as text: a rich-text field's text, Yes/No, a number or a date as written.
 * @param {unknown} value
 */
export function valueText (value) {
  if (value === null || value === undefined || value === '') return EMPTY
  if (typeof value === 'boolean') return value ? 'Yes' : 'No'
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** @param {unknown} value */
const normal = (value) => value === undefined || value === '' ? null : value

/**
 * Whether two values of a field are the same (absent, null and '' all mean empty).
 * @param {unknown} a
 * @param {unknown} b
 */
export const sameValue = (a, b) => JSON.stringify(normal(a)) === JSON.stringify(normal(b))

/**
 * The fields of `specs` (in their order) whose value in `mine` differs from `server`. A field the copy
 * does not hold at all is not offered: applying it would only clear the server's value.
 * @param {FieldSpec[]} specs
 * @param {Record<string, unknown>} mine the copy kept from before the restore
 * @param {Record<string, unknown>} server the record now
 * @returns {Difference[]}
 */
export function differences (specs, mine, server) {
  return specs
    .filter((spec) => Object.hasOwn(mine, spec.key) && !sameValue(mine[spec.key], server[spec.key]))
    .map((spec) => ({
      key: spec.key,
      label: spec.label,
      type: spec.type,
      mine: mine[spec.key],
      mineText: valueText(mine[spec.key]),
      serverText: valueText(server[spec.key])
    }))
}

/**
 * The heading of the review panel.
 * @param {number} count fields that differ
 */
export const restoredHeading = (count) =>
  `This record was restored on the server. Your copy from before has ${count} ${count === 1 ? 'field' : 'fields'} that ${count === 1 ? 'differs' : 'differ'}:`

/**
 * Two copies kept for one record (restored twice before the first was reviewed): the newer wins per field.
 * @param {Record<string, unknown> | null} older
 * @param {Record<string, unknown>} newer
 */
export const mergeCopies = (older, newer) => ({ ...(older ?? {}), ...newer })
