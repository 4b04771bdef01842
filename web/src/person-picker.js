// A `person` field: its value is a user id of the tenant, picked from the tenant's people by name
// (`GET /api/people`, which any member may read: ids and names, never emails) and shown as the person's
// name with their initials. The list is read once a minute at most; a value naming someone who is not in it
// (deleted since) reads "Unknown person".
import * as api from './api.js'
import { h } from './dom.js'
import { colorOf, initials } from './presence.js'

/** @typedef {{id: string, name: string, active: boolean}} Member */

const FRESH_MS = 60_000
/** @type {{at: number, people: Promise<Member[]>} | null} */
let cached = null

/**
 * The tenant's people, ordered by name (from the server at most once a minute).
 * @returns {Promise<Member[]>}
 */
export function loadPeople () {
  if (!cached || Date.now() - cached.at > FRESH_MS) {
    const people = api.listPeople().catch((error) => {
      cached = null // try again next time
      throw error
    })
    cached = { at: Date.now(), people }
  }
  return cached.people
}

/**
 * The picker: a <select> of the tenant's active people (and whoever the value names, if inactive). It is
 * a scalar control for scalar-field.js: the value it renders may arrive before the people do, so it is
 * kept in `data-value` and selected once they are there.
 * @type {import('./scalar-field.js').Scalar}
 */
export const personKind = {
  create: () => {
    const select = h('select', {}, h('option', { value: '' }, '—'))
    loadPeople().then((people) => {
      const wanted = select.dataset.value ?? ''
      for (const person of people) {
        if (person.active || person.id === wanted) select.append(h('option', { value: person.id }, person.name))
      }
      choose(select, wanted)
    }, () => {
      // Offline: the value stays selectable as it is; the picker fills in when the page opens again.
    })
    return select
  },
  read: (select) => select.value || null,
  render: (select, value) => {
    const id = typeof value === 'string' ? value : ''
    select.dataset.value = id
    choose(select, id)
  },
  event: 'change',
  typing: false
}

/**
 * Select `id`, adding an option for it when the list does not have it (not loaded yet, or no longer a
 * member) so that the stored value is never shown as empty.
 * @param {HTMLSelectElement} select @param {string} id
 */
function choose (select, id) {
  if (id && ![...select.options].some((option) => option.value === id)) {
    select.append(h('option', { value: id, 'data-unknown': true }, 'Unknown person'))
  }
  for (const option of [...select.options]) {
    // A placeholder for someone the list now names properly.
    if (option.dataset.unknown !== undefined && option.value !== id) option.remove()
  }
  const named = [...select.options].filter((option) => option.value === id)
  if (named.length > 1) named.find((option) => option.dataset.unknown !== undefined)?.remove()
  select.value = id
}

/**
 * A person value for reading: initials in their colour and the name, filled in when the people are known.
 * @param {string} id
 * @returns {HTMLElement}
 */
export function personView (id) {
  const badge = h('span', { class: 'person-initials', 'aria-hidden': 'true' }, '…')
  const name = h('span', { class: 'person-name' }, '')
  const element = h('span', { class: 'person', 'data-person': id }, badge, name)
  colorOf(id).then((color) => element.style.setProperty('--who', color))
  loadPeople().then((people) => {
    const person = people.find((p) => p.id === id)
    name.textContent = person?.name ?? 'Unknown person'
    badge.textContent = initials(person?.name ?? '?')
  }, () => { name.textContent = 'Unknown person' })
  return element
}
