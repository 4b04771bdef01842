// The list of a collection's records: search as you type (on the server), create, delete with Undo.
// Offline, it lists the records kept on this device instead, which can be opened and edited.
import * as api from './api.js'
import { h, mount } from './dom.js'
import { titleField } from './fields.js'
import { keptRecords } from './local-store.js'
import { canEdit, currentUser } from './session.js'
import { toast } from './toast.js'

const SEARCH_DELAY_MS = 200

export const recordHash = (id) => `#/records/${encodeURIComponent(id)}`

/**
 * @param {HTMLElement} root
 * @param {{collection: string, newRecord: Record<string, any>}} options
 *   the collection's name, and the fields a record made by "New record" starts with
 * @param {AbortSignal} signal
 */
export async function showRecords (root, { collection: name, newRecord }, signal) {
  let collections, first
  try {
    [collections, first] = await Promise.all([api.listCollections(), api.listRecords(name)])
  } catch (error) {
    if (!error.offline) throw error
    await showKept(root, signal)
    return
  }
  if (signal.aborted) return
  const collection = collections.find((c) => c.name === name)
  if (!collection) throw new Error(`There is no collection "${name}".`)
  const titleKey = titleField(collection)
  const titleOf = (record) => {
    const title = titleKey ? record.fields[titleKey] : null
    return typeof title === 'string' && title.trim() ? title : 'Untitled'
  }
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true })
  const fail = (what, error) => {
    problem.textContent = `${what}: ${error.message}`
    problem.hidden = false
  }
  const list = h('ul', { class: 'records', 'data-testid': 'record-list' })
  const search = h('input', {
    type: 'search', id: 'search', name: 'q', autocomplete: 'off', placeholder: 'Name, email, notes…'
  })

  // Answers may arrive out of order: only the newest search's answer is shown.
  let asked = 0
  const refresh = async () => {
    const mine = ++asked
    try {
      const records = await api.listRecords(name, search.value)
      if (mine === asked && !signal.aborted) render(records)
    } catch (error) {
      if (mine === asked && !signal.aborted) fail('Could not search', error)
    }
  }
  let timer = null
  search.addEventListener('input', () => {
    clearTimeout(timer)
    timer = setTimeout(refresh, SEARCH_DELAY_MS)
  })
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true })

  const remove = async (record, item) => {
    try {
      await api.deleteRecord(record.id)
    } catch (error) {
      fail('Could not delete', error)
      return
    }
    item.remove()
    toast(`Deleted “${titleOf(record)}”.`, {
      label: 'Undo',
      run: async () => {
        try {
          await api.undeleteRecord(record.id)
          if (!signal.aborted) await refresh()
        } catch (error) {
          toast(`Could not undo: ${error.message}`)
        }
      }
    })
  }

  const row = (record) => {
    const item = h('li', { 'data-testid': 'record' }, h('a', { href: recordHash(record.id) }, titleOf(record)))
    if (canEdit()) {
      item.append(h('button', {
        type: 'button',
        class: 'secondary',
        'aria-label': `Delete ${titleOf(record)}`,
        onclick: () => remove(record, item)
      }, 'Delete'))
    }
    return item
  }
  const render = (records) => {
    problem.hidden = true
    list.replaceChildren(...(records.length
      ? records.map(row)
      : [h('li', { class: 'empty' }, search.value.trim() ? 'No records match.' : 'No records yet.')]))
  }

  const newButton = canEdit() ? h('button', { type: 'button', 'data-testid': 'new-record' }, 'New record') : null
  newButton?.addEventListener('click', async () => {
    newButton.disabled = true
    try {
      const created = await api.createRecord(name, newRecord)
      location.hash = recordHash(created.id)
    } catch (error) {
      fail('Could not create a record', error)
      newButton.disabled = false
    }
  })

  render(first)
  mount(root,
    h('div', { class: 'list-head' }, h('h2', {}, collection.label), newButton),
    h('div', { class: 'field search', role: 'search' }, h('label', { for: 'search' }, `Search ${collection.label.toLowerCase()}`), search),
    problem,
    list)
}

/** Offline: the records this user keeps on this device. */
async function showKept (root, signal) {
  const kept = await keptRecords(currentUser())
  if (signal.aborted) return
  const items = kept.map((record) => h('li', { 'data-testid': 'record' },
    h('a', { href: recordHash(record.id) }, record.title),
    record.unsaved ? h('span', { class: 'unsaved' }, ` · ${record.unsaved} unsaved`) : null))
  mount(root,
    h('div', { class: 'list-head' }, h('h2', {}, 'On this device')),
    h('p', { class: 'banner', role: 'note' },
      'You are offline. These records are kept on this device: you can open and edit them, and your ' +
      'changes are sent when the connection is back.'),
    h('ul', { class: 'records', 'data-testid': 'record-list' },
      ...(items.length ? items : [h('li', { class: 'empty' }, 'No records are kept on this device.')])))
}
