// The list of a collection's records, with a button to create one.
import * as api from './api.js'
import { h, mount } from './dom.js'
import { titleField } from './fields.js'
import { canEdit } from './session.js'

export const recordHash = (id) => `#/records/${encodeURIComponent(id)}`

/**
 * @param {HTMLElement} root
 * @param {{collection: string, newRecord: Record<string, any>}} options
 *   the collection's name, and the fields a record made by "New record" starts with
 * @param {AbortSignal} signal
 */
export async function showRecords (root, { collection: name, newRecord }, signal) {
  const [collections, records] = await Promise.all([api.listCollections(), api.listRecords(name)])
  if (signal.aborted) return
  const collection = collections.find((c) => c.name === name)
  const titleKey = titleField(collection)
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true })
  const newButton = canEdit() ? h('button', { type: 'button', 'data-testid': 'new-record' }, 'New record') : null

  newButton?.addEventListener('click', async () => {
    newButton.disabled = true
    try {
      const created = await api.createRecord(name, newRecord)
      location.hash = recordHash(created.id)
    } catch (error) {
      problem.textContent = `Could not create a record: ${error.message}`
      problem.hidden = false
      newButton.disabled = false
    }
  })

  const items = records.map((record) => {
    const title = titleKey ? record.fields[titleKey] : null
    return h('li', {},
      h('a', { href: recordHash(record.id) }, typeof title === 'string' && title.trim() ? title : 'Untitled'))
  })

  mount(root,
    h('div', { class: 'list-head' }, h('h2', {}, collection.label), newButton),
    problem,
    h('ul', { class: 'records', 'data-testid': 'record-list' },
      ...(items.length ? items : [h('li', { class: 'empty' }, 'No records yet.')])))
}
