// The history drawer: every change of a record, newest first, with conflicts marked; any entry's value
// (a conflict's lost one, else the one before the change) can be put back, after a confirmation. A modal <dialog> gives focus handling and Escape for free.
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

  /**
   * "Put this value back" on every entry: the lost value of a conflict, else the value before the change.
   * It asks first, inline (naming the value and that the edit will be the caller's), since it overwrites
   * whatever the field holds now, possibly a colleague's newer work.
   * @param {Change} change
   */
  const putBackControl = (change) => {
    const value = change.conflict ? change.lost?.value : change.before
    const ask = h('button', { type: 'button', class: 'secondary' }, 'Put this value back')
    const yes = h('button', { type: 'button' }, 'Put back')
    const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel')
    const confirm = h('p', { class: 'change-confirm', role: 'group', hidden: true },
      `Put ${shown(value, MAX_VALUE_CHARS)} back into ${labels[change.field] ?? change.field}? ` +
      'It replaces the current value and is recorded as your change. ', yes, ' ', no)
    /** @param {boolean} asking */
    const asking = (asking) => {
      ask.hidden = asking
      confirm.hidden = !asking
    }
    ask.addEventListener('click', () => {
      asking(true)
      yes.focus()
    })
    no.addEventListener('click', () => {
      asking(false)
      ask.focus()
    })
    yes.addEventListener('click', async () => {
      yes.disabled = true
      try {
        await api.putBack(recordId, change.id)
        await reload() // the put-back is itself a change: show it on top
      } catch (error) {
        yes.disabled = false
        asking(false)
        fail(error)
      }
    })
    return h('div', { class: 'change-put-back' }, ask, confirm)
  }

  /**
   * Deleting the record and bringing it back: entries of no field, never put back (undelete is the way).
   * @param {Change} change
   */
  const lifecycle = (change) =>
    h('li', { class: 'change lifecycle', 'data-testid': 'change' },
      h('p', { class: 'change-what' },
        h('strong', {}, nameOf(change.user, 'Someone')),
        change.origin === 'delete' ? ' deleted this record' : ' brought this record back',
        ' · ', h('time', timeProps(change.at), ago(change.at))))

  /** @param {Change} change */
  const entry = (change) => {
    if (change.field === '' && (change.origin === 'delete' || change.origin === 'undelete')) return lifecycle(change)
    const field = labels[change.field] ?? change.field
    const item = h('li', { class: change.conflict ? 'change conflict' : 'change', 'data-testid': 'change' },
      h('p', { class: 'change-what' },
        h('strong', {}, nameOf(change.user, 'Someone')), ` changed ${field}`,
        originWords(change.origin),
        ' · ', h('time', timeProps(change.at), ago(change.at))),
      h('p', { class: 'change-values' }, `${shown(change.before, MAX_VALUE_CHARS)} → ${shown(change.after, MAX_VALUE_CHARS)}`))
    if (change.conflict) {
      item.append(h('p', { class: 'change-conflict' }, conflictWords(change, MAX_VALUE_CHARS)))
    }
    if (canEdit) item.append(putBackControl(change))
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
