// The history drawer: every change of a record, newest first, with conflicts marked and the editor's "why"
// when given; filters by person, field and conflicts only; any entry's value (a conflict's lost one, else
// the one before the change) can be put back, after a confirmation with an optional "Why?". A modal
// <dialog> gives focus handling and Escape for free.
import * as api from './api.js'
import { h } from './dom.js'
import { richValue } from './markdown.js'
import { NO_FILTER, emptyWords, fieldChoices, historyParams, personChoices } from './history-filter.js'
import { pagedList } from './paged-list.js'
import { ago, timeProps } from './time.js'
import { conflictWords, nameOf, originWords, shown } from './wording.js'

/** @typedef {import('./types.js').Change} Change */
/** @typedef {import('./history-filter.js').HistoryFilter} HistoryFilter */

const MAX_VALUE_CHARS = 120
const MAX_RICH_CHARS = 400
const MAX_COMMENT_CHARS = 500 // the server's bound (collab/services/comments.py)

/**
 * The <option>s of a menu, the one of `value` chosen.
 * @param {Array<{value: string, label: string}>} choices @param {string} value
 */
const options = (choices, value) =>
  choices.map((choice) => h('option', { value: choice.value, selected: choice.value === value }, choice.label))

/**
 * A "History" button and the drawer it opens.
 * @param {string} recordId
 * @param {{fields: Array<{key: string, label: string, type?: string}>}} collection
 * @param {{canEdit: boolean}} options
 */
export function historyDrawer (recordId, collection, { canEdit }) {
  const labels = Object.fromEntries(collection.fields.map((spec) => [spec.key, spec.label]))
  // Rich text is markdown: its values are shown rendered (sanitised), the others as text.
  const rich = new Set(collection.fields.filter((spec) => spec.type === 'richtext').map((spec) => spec.key))
  const list = h('ol', { class: 'changes', 'data-testid': 'history-list' })
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true })
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show older changes')
  const close = h('button', { type: 'button', class: 'secondary' }, 'Close')
  /** @type {HistoryFilter} */
  let filter = { ...NO_FILTER }
  const person = h('select', { 'aria-label': 'Person', 'data-testid': 'history-person' },
    ...options(personChoices([]), ''))
  const field = h('select', { 'aria-label': 'Field', 'data-testid': 'history-field' },
    ...options(fieldChoices(collection.fields), ''))
  const conflictsOnly = h('input', { type: 'checkbox', 'data-testid': 'history-conflicts' })
  const filters = h('div', { class: 'history-filters', role: 'group', 'aria-label': 'Filter the history' },
    person, ' ', field, ' ', h('label', {}, conflictsOnly, ' Conflicts only'))
  const dialog = h('dialog', { class: 'drawer', 'aria-labelledby': 'history-title', 'data-testid': 'history' },
    h('div', { class: 'drawer-head' }, h('h2', { id: 'history-title' }, 'History'), close),
    filters, problem, list, more)

  /** The people of the whole history, as the first page names them (they stay whatever the filters). */
  const offerPeople = (/** @type {import('./types.js').Person[]} */ people) => {
    const chosen = person.value // what is chosen now: it may have changed while the page loaded
    person.replaceChildren(...options(personChoices(people, chosen), chosen))
  }

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
    const why = h('input', { type: 'text', maxLength: MAX_COMMENT_CHARS, placeholder: 'Optional', 'data-testid': 'put-back-why' })
    const confirm = h('div', { class: 'change-confirm', role: 'group', hidden: true },
      h('p', {}, `Put ${shown(value, MAX_VALUE_CHARS)} back into ${labels[change.field] ?? change.field}? ` +
        'It replaces the current value and is recorded as your change.'),
      h('label', {}, 'Why? ', why), ' ', yes, ' ', no)
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
        await api.putBack(recordId, change.id, why.value)
        await refresh() // the put-back is itself a change: show it on top
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
      rich.has(change.field)
        ? h('div', { class: 'change-values rich' }, richValue(change.before, MAX_RICH_CHARS), h('span', { 'aria-label': 'became' }, '→'),
          richValue(change.after, MAX_RICH_CHARS))
        : h('p', { class: 'change-values' }, `${shown(change.before, MAX_VALUE_CHARS)} → ${shown(change.after, MAX_VALUE_CHARS)}`))
    if (change.comment) {
      // The editor's own words: text, never markup.
      item.append(h('p', { class: 'change-comment', 'data-testid': 'change-comment' }, `Why: ${change.comment}`))
    }
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
      const page = await api.history(recordId, before, historyParams(filter))
      if (page.people) offerPeople(page.people)
      return { items: page.changes, next_before: page.next_before ?? null }
    },
    render: entry,
    emptyText: 'No changes yet.',
    fail
  })

  // One reload at a time, in order: a page read for the filters before must not land in the list after
  // the one for the filters now.
  let queue = Promise.resolve()
  const refresh = () => {
    queue = queue.then(async () => {
      filter = { user: person.value, field: field.value, conflictsOnly: conflictsOnly.checked }
      await reload()
      const empty = list.querySelector('li.empty')
      if (empty) empty.textContent = emptyWords(filter)
    })
    return queue
  }
  for (const control of [person, field, conflictsOnly]) control.addEventListener('change', refresh)

  const button = h('button', { type: 'button', class: 'secondary', 'data-testid': 'open-history' }, 'History')
  button.addEventListener('click', () => {
    dialog.showModal()
    refresh()
  })
  close.addEventListener('click', () => dialog.close())
  return { button, dialog }
}
