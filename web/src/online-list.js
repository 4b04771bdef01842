// "Online now" on the admins' Users page: who has a record open in the tenant, which records, since when.
import * as api from './api.js'
import { h } from './dom.js'
import { recordHash } from './records.js'
import { ago, timeProps } from './time.js'

/** @typedef {import('./types.js').OnlinePerson} OnlinePerson */

/** @param {OnlinePerson} person */
const personRow = (person) =>
  h('li', { class: 'row', 'data-testid': 'online-person' },
    h('div', { class: 'row-main' },
      h('strong', {}, person.name),
      h('div', { class: 'muted' }, 'online since ', h('time', timeProps(person.since), ago(person.since))),
      h('ul', { class: 'plain' }, ...person.records.map((record) =>
        h('li', {},
          h('a', { href: recordHash(record.id) }, record.title || 'Untitled'),
          h('span', { class: 'muted' }, ` in ${record.collection}, since `),
          h('time', timeProps(record.since), ago(record.since)))))))

/**
 * The section, filled now and on "Refresh".
 * @param {AbortSignal} signal
 * @returns {HTMLElement}
 */
export function onlineSection (signal) {
  const list = h('ul', { class: 'rows', 'data-testid': 'online' })
  const status = h('p', { class: 'muted', role: 'status' })
  const refresh = async () => {
    try {
      const people = await api.whoIsOnline()
      if (signal.aborted) return
      list.replaceChildren(...people.map(personRow))
      status.textContent = people.length ? '' : 'Nobody has a record open right now.'
    } catch (error) {
      status.textContent = `Could not load who is online: ${/** @type {Error} */ (error).message}`
    }
  }
  refresh()
  return h('section', { 'aria-labelledby': 'online-heading' },
    h('h3', { id: 'online-heading' }, 'Online now ',
      h('button', { type: 'button', class: 'secondary', onclick: refresh }, 'Refresh')),
    status, list)
}
