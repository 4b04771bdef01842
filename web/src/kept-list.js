// The list page without a network: the records this user keeps on this device (opened here before, or
// made here offline), which open and accept edits; and "New record", which makes one here
// (offline-create.js) when the collection's fields are kept from an earlier visit.
import { h, mount, pageHeading } from './dom.js'
import { titleField } from './fields.js'
import { keptCollections, keptRecords } from './local-store.js'
import { createOffline } from './offline-create.js'
import { canEdit, currentUser } from './session.js'

/** @typedef {import('./types.js').User} User */

/** The address of a record's page. @param {string} id */
const recordHash = (id) => `#/records/${encodeURIComponent(id)}`

/**
 * @param {import('./types.js').Collection} collection
 * @param {Record<string, any>} fields
 */
function titleOf (collection, fields) {
  const key = titleField(collection)
  const title = key ? fields[key] : null
  return typeof title === 'string' && title.trim() ? title : 'Untitled'
}

/**
 * @param {HTMLElement} root
 * @param {{collection: string, newRecord: Record<string, any>}} options
 *   the collection's name, and the fields a record made by "New record" starts with
 * @param {AbortSignal} signal
 */
export async function showKept (root, { collection: name, newRecord }, signal) {
  const me = /** @type {User} */ (currentUser()) // this view is only shown signed in
  const kept = (await keptRecords(me)).filter((record) => record.collection === name)
  if (signal.aborted) return
  const collection = keptCollections(me).find((c) => c.name === name)
  const items = kept.map((record) => h('li', { 'data-testid': 'record', 'data-id': record.id },
    h('a', { href: recordHash(record.id) }, record.title),
    record.creating ? h('span', { class: 'unsaved' }, ' · not on the server yet') : null,
    record.unsaved ? h('span', { class: 'unsaved' }, ` · ${record.unsaved} unsaved`) : null))
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true })
  const newButton = canEdit() && collection
    ? h('button', { type: 'button', 'data-testid': 'new-record' }, 'New record')
    : null
  newButton?.addEventListener('click', async () => {
    if (!collection) return
    newButton.disabled = true
    try {
      location.hash = recordHash(await createOffline(me, collection, newRecord, titleOf(collection, newRecord)))
    } catch (error) {
      problem.textContent = `Could not create a record on this device: ${error.message}`
      problem.hidden = false
      newButton.disabled = false
    }
  })
  mount(root,
    h('div', { class: 'list-head' }, pageHeading(collection?.label ?? 'On this device'), newButton),
    h('p', { class: 'banner', role: 'note', 'data-testid': 'offline-note' },
      'Offline — showing records on this device. You can open and edit them, and create new ones; ' +
      'your changes are sent when the connection is back.'),
    problem,
    h('ul', { class: 'records', 'data-testid': 'record-list' },
      ...(items.length ? items : [h('li', { class: 'empty' }, 'No records are kept on this device.')])))
}
