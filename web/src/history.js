// The history drawer: every change of a record, newest first, with conflicts marked and their lost
// value one click from being put back. A modal <dialog> gives focus handling and Escape for free.
import * as api from './api.js'
import { h } from './dom.js'
import { pagedList } from './paged-list.js'
import { ago, timeProps } from './time.js'
import { conflictWords, nameOf, originWords, shown } from './wording.js'

/** @typedef {import('./types.js').Change} Change */

const MAX_VALUE_CHARS = 120

/**
 * A "History" button and the drawer it opens.
 * @param {string} recordId
 * @param {{fields: Array<{key: string, label: string}>}} collection
 * @param {{canEdit: boolean}} options
 */
export function historyDrawer (recordId, collection, { canEdit }) {
  const labels = Object.fromEntries(collection.fields.map((spec) => [spec.key, spec.label]))
  const list = h('ol', { class: 'changes', 'data-testid': 'history-list' })
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true })
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show older changes')
  const close = h('button', { type: 'button', class: 'secondary' }, 'Close')
  const dialog = h('dialog', { class: 'drawer', 'aria-labelledby': 'history-title', 'data-testid': 'history' },
    h('div', { class: 'drawer-head' }, h('h2', { id: 'history-title' }, 'History'), close),
    problem, list, more)

  /** @param {any} error */
  const fail = (error) => {
    problem.textContent = error.offline ? 'The history needs a connection to the server.' : error.message
    problem.hidden = false
  }

  /** @param {Change} change */
  const entry = (change) => {
    const field = labels[change.field] ?? change.field
    const item = h('li', { class: change.conflict ? 'change conflict' : 'change', 'data-testid': 'change' },
      h('p', { class: 'change-what' },
        h('strong', {}, nameOf(change.user, 'Someone')), ` changed ${field}`,
        originWords(change.origin),
        ' · ', h('time', timeProps(change.at), ago(change.at))),
      h('p', { class: 'change-values' }, `${shown(change.before, MAX_VALUE_CHARS)} → ${shown(change.after, MAX_VALUE_CHARS)}`))
    if (change.conflict) {
      item.append(h('p', { class: 'change-conflict' }, conflictWords(change, MAX_VALUE_CHARS)))
      if (canEdit) {
        const putBack = h('button', { type: 'button', class: 'secondary' }, 'Put this value back')
        putBack.addEventListener('click', async () => {
          putBack.disabled = true
          try {
            await api.putBack(recordId, change.id)
            await reload() // the put-back is itself a change: show it on top
          } catch (error) {
            putBack.disabled = false
            fail(error)
          }
        })
        item.append(putBack)
      }
    }
    return item
  }

  const { reload } = pagedList({
    list,
    more,
    problem,
    fetchPage: async (before) => {
      const page = await api.history(recordId, before)
      return { items: page.changes, next_before: page.next_before ?? null }
    },
    render: entry,
    emptyText: 'No changes yet.',
    fail
  })

  const button = h('button', { type: 'button', class: 'secondary', 'data-testid': 'open-history' }, 'History')
  button.addEventListener('click', () => {
    dialog.showModal()
    reload()
  })
  close.addEventListener('click', () => dialog.close())
  return { button, dialog }
}
