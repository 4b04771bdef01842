// The history drawer's filters (person, field, conflicts only) as the query the history API takes, and
// the choices each menu offers. Pure: the drawer (history.js) owns the elements.

/** @typedef {import('./types.js').Person} Person */

/**
 * What the drawer shows: '' means "anyone" / "any field".
 * @typedef {{ user: string, field: string, conflictsOnly: boolean }} HistoryFilter
 */

/** @type {HistoryFilter} */
export const NO_FILTER = Object.freeze({ user: '', field: '', conflictsOnly: false })

/**
 * The query parameters of the filtered history (empty ones are left out by `withQuery`).
 * @param {HistoryFilter} filter
 * @returns {{ user?: string, field?: string, conflicts?: string }}
 */
export function historyParams (filter) {
  return {
    user: filter.user || undefined,
    field: filter.field || undefined,
    conflicts: filter.conflictsOnly ? '1' : undefined
  }
}

/**
 * The person menu: "Anyone", then each person once, by name; two people of one name tell their
 * addresses. A person the filter already names stays listed even when a reload no longer did.
 * @param {Person[]} people
 * @param {string} chosen the id the filter holds now ('' for anyone)
 * @returns {Array<{ value: string, label: string }>}
 */
export function personChoices (people, chosen = '') {
  const display = (/** @type {Person} */ person) => person.name || person.email || person.id
  /** @type {Map<string, Person>} */
  const byId = new Map(people.map((person) => [person.id, person]))
  const names = [...byId.values()].map(display)
  const label = (/** @type {Person} */ person) => {
    const name = display(person)
    const shared = names.filter((other) => other === name).length > 1
    return shared && person.email && person.email !== name ? `${name} (${person.email})` : name
  }
  const choices = [...byId.values()]
    .map((person) => ({ value: person.id, label: label(person) }))
    .sort((a, b) => a.label.localeCompare(b.label))
  if (chosen && !byId.has(chosen)) choices.push({ value: chosen, label: 'Someone no longer listed' })
  return [{ value: '', label: 'Anyone' }, ...choices]
}

/**
 * The field menu: "Any field", then the collection's fields in their order.
 * @param {Array<{ key: string, label: string }>} fields
 * @returns {Array<{ value: string, label: string }>}
 */
export function fieldChoices (fields) {
  return [{ value: '', label: 'Any field' }, ...fields.map((spec) => ({ value: spec.key, label: spec.label || spec.key }))]
}

/**
 * What the list says when a filtered history is empty.
 * @param {HistoryFilter} filter
 */
export function emptyWords (filter) {
  return filter.user || filter.field || filter.conflictsOnly ? 'No changes match these filters.' : 'No changes yet.'
}
