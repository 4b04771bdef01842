// The snapshots drawer: a record's stored versions, newest first, each one click from a field-by-field
// comparison with the record as it is now, and (admins) from being restored. Editors may take and look;
// only admins restore, behind a confirmation. Modal <dialog>s give focus handling and Escape for free.
import * as api from './api.js'
import { h } from './dom.js'
import { richValue } from './markdown.js'
import { pagedList } from './paged-list.js'
import { ago, at, timeProps } from './time.js'
import { nameOf, shown } from './wording.js'

/** @typedef {import('./types.js').Comparison} Comparison */
/** @typedef {import('./types.js').Snapshot} Snapshot */

const MAX_VALUE_CHARS = 200
/** @type {Record<string, string>} */
const REASONS = {
  manual: 'Taken by hand',
  auto: 'Automatic',
  evict: 'When the record was idle',
  shutdown: 'When the server stopped',
  retention: 'When old changes were folded'
}

/** @param {string} reason */
const reasonOf = (reason) => REASONS[reason] ?? reason

/**
 * A "Snapshots" button and the drawer it opens.
 * @param {string} recordId
 * @param {{fields: Array<{key: string, label: string, type?: string}>}} collection
 * @param {{canTake: boolean, canRestore: boolean}} options
 */
export function snapshotsDrawer (recordId, collection, { canTake, canRestore }) {
  const labels = Object.fromEntries(collection.fields.map((spec) => [spec.key, spec.label]))
  // Rich text is markdown: shown rendered (sanitised), other values as text.
  const rich = new Set(collection.fields.filter((spec) => spec.type === 'richtext').map((spec) => spec.key))
  /** @param {string} field @param {unknown} value */
  const cell = (field, value) => h('td', {}, rich.has(field) ? richValue(value, MAX_VALUE_CHARS) : shown(value, MAX_VALUE_CHARS))
  const list = h('ol', { class: 'snapshots', 'aria-label': 'Snapshots, newest first', 'data-testid': 'snapshot-list' })
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true })
  const status = h('p', { class: 'snapshot-status', role: 'status', 'data-testid': 'snapshot-status' })
  const take = h('button', { type: 'button', hidden: !canTake, 'data-testid': 'take-snapshot' }, 'Take snapshot')
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show older snapshots')
  const close = h('button', { type: 'button', class: 'secondary' }, 'Close')
  const detail = h('section', { class: 'snapshot-detail', 'aria-labelledby': 'snapshot-detail-title', hidden: true,
    'data-testid': 'snapshot-compare' })
  const dialog = h('dialog', { class: 'drawer', 'aria-labelledby': 'snapshots-title', 'data-testid': 'snapshots' },
    h('div', { class: 'drawer-head' }, h('h2', { id: 'snapshots-title' }, 'Snapshots'), close),
    problem, status, take, detail, list, more)

  // The confirmation: its own modal dialog, Cancel focused first so Enter does not restore by accident.
  const confirmText = h('p', { id: 'restore-confirm-text' })
  const confirmRestore = h('button', { type: 'button', class: 'danger' }, 'Restore')
  const cancelRestore = h('button', { type: 'button', class: 'secondary', autofocus: true }, 'Cancel')
  const confirm = h('dialog', { class: 'confirm', role: 'alertdialog', 'aria-labelledby': 'restore-confirm-title',
    'aria-describedby': 'restore-confirm-text', 'data-testid': 'restore-confirm' },
  h('h2', { id: 'restore-confirm-title' }, 'Restore this version?'), confirmText,
  h('div', { class: 'confirm-buttons' }, cancelRestore, confirmRestore))
  dialog.append(confirm)

  /** @type {number | null} */
  let selected = null // the id of the snapshot whose comparison is shown
  /** @type {Snapshot | null} */
  let selectedSnapshot = null // …and that snapshot, once its comparison is on screen

  /** @param {any} error */
  const fail = (error) => {
    problem.textContent = error.offline ? 'Snapshots need a connection to the server.' : error.message
    problem.hidden = false
  }

  /** @param {Snapshot} snapshot */
  const entry = (snapshot) => {
    const when = h('time', timeProps(snapshot.at), at(snapshot.at))
    const view = h('button', { type: 'button', class: 'secondary', 'aria-pressed': String(selected === snapshot.id),
      'data-snapshot': String(snapshot.id) }, 'Compare with now')
    view.addEventListener('click', () => select(snapshot))
    return h('li', { class: 'snapshot', 'data-testid': 'snapshot', 'data-reason': snapshot.reason },
      h('p', { class: 'snapshot-when' }, when, ` · ${ago(snapshot.at)}`),
      h('p', { class: 'snapshot-what' }, reasonOf(snapshot.reason),
        snapshot.created_by ? ` · by ${nameOf(snapshot.created_by, 'the server')}` : ''),
      view)
  }

  const markSelected = () => {
    for (const button of /** @type {NodeListOf<HTMLButtonElement>} */ (list.querySelectorAll('button[data-snapshot]'))) {
      button.setAttribute('aria-pressed', String(button.dataset.snapshot === String(selected)))
    }
  }

  /** @param {Snapshot} snapshot @param {Comparison} comparison */
  const showComparison = (snapshot, comparison) => {
    const rows = comparison.fields.map((row) => h('tr', {
      class: row.changed ? 'changed' : null, 'data-testid': `compare-${row.field}`, 'data-changed': String(row.changed)
    },
    h('th', { scope: 'row' }, labels[row.field] ?? row.field,
      row.changed ? h('span', { class: 'changed-mark' }, ' Changed') : null),
    cell(row.field, row.snapshot),
    cell(row.field, row.other)))
    const count = comparison.fields.filter((row) => row.changed).length
    /** @type {HTMLElement[]} */
    const children = [
      h('h3', { id: 'snapshot-detail-title' }, `Snapshot of ${at(snapshot.at)}`),
      h('p', { class: 'snapshot-summary' }, count === 0
        ? 'Identical to the record now.'
        : `${count} field${count === 1 ? '' : 's'} changed since.`),
      h('table', { class: 'compare' },
        h('caption', { class: 'visually-hidden' }, 'Each field in the snapshot and now'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Snapshot'),
          h('th', { scope: 'col' }, 'Now'))),
        h('tbody', {}, ...rows))
    ]
    if (canRestore) {
      const restore = h('button', { type: 'button', class: 'danger', 'data-testid': 'restore-snapshot' },
        'Restore this version')
      restore.addEventListener('click', () => {
        confirmText.textContent = `Every field goes back to its value of ${at(snapshot.at)}. ` +
          'This is a new change that everyone sees; the history keeps what is replaced.'
        confirm.showModal()
      })
      children.push(restore)
    }
    detail.replaceChildren(...children)
    detail.hidden = false
  }

  /** @param {Snapshot} snapshot */
  const select = async (snapshot) => {
    problem.hidden = true
    selected = snapshot.id
    markSelected()
    try {
      const comparison = await api.compareSnapshot(recordId, snapshot.id)
      if (selected === snapshot.id) showComparison(snapshot, comparison)
      selectedSnapshot = snapshot
    } catch (error) {
      fail(error)
    }
  }

  const pages = pagedList({
    list,
    more,
    problem,
    fetchPage: async (before) => {
      const page = await api.listSnapshots(recordId, before)
      return { items: page.snapshots, next_before: page.next_before }
    },
    render: entry,
    emptyText: 'No snapshots yet.',
    fail
  })
  const reload = async () => {
    await pages.reload()
    markSelected()
  }

  take.addEventListener('click', async () => {
    take.disabled = true
    problem.hidden = true
    try {
      const snapshot = await api.takeSnapshot(recordId)
      status.textContent = `Snapshot taken at ${at(snapshot.at)}.`
      await reload()
    } catch (error) {
      fail(error)
    } finally {
      take.disabled = false
    }
  })

  confirmRestore.addEventListener('click', async () => {
    const snapshot = selectedSnapshot
    if (!snapshot) return // the button is only shown with a comparison
    confirmRestore.disabled = true
    try {
      await api.restoreSnapshot(recordId, snapshot.id)
      confirm.close()
      status.textContent = `Restored the version of ${at(snapshot.at)}.`
      await select(snapshot) // now identical: the comparison says so
    } catch (error) {
      confirm.close()
      fail(error)
    } finally {
      confirmRestore.disabled = false
    }
  })
  cancelRestore.addEventListener('click', () => confirm.close())

  const button = h('button', { type: 'button', class: 'secondary', 'data-testid': 'open-snapshots' }, 'Snapshots')
  button.addEventListener('click', () => {
    status.textContent = ''
    selected = null
    selectedSnapshot = null
    detail.hidden = true
    detail.replaceChildren()
    dialog.showModal()
    reload()
  })
  close.addEventListener('click', () => dialog.close())
  return { button, dialog }
}
