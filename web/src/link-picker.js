// A `link` field's control: the linked records as chips showing their current titles (a click opens the
// record; × unlinks it), and a search-as-you-type box over the target collection that adds one. The value
// is the list of record ids, replaced whole on each change (last writer wins, like other scalars).
//
// Titles are read when the page opens and again when the target collection's feed says a linked record
// changed (renamed, deleted, restored), so a chip never shows a stale name for long. One feed per target
// collection per page, however many link fields point at it.
import * as api from './api.js'
import { h } from './dom.js'
import { followCollection } from './feed.js'
import { knownTitle, linkTitle, titleOfRecord } from './link-titles.js'

/** @typedef {import('./types.js').FieldSpec} FieldSpec */
/** @typedef {{element: HTMLElement, control: HTMLElement, set: (value: unknown) => void, destroy: () => void}} Widget */

const SEARCH_DELAY_MS = 200
const RESULTS = 10

/** @type {Map<string, {listeners: Set<(type: string, id: string) => void>, stop: AbortController}>} */
const feeds = new Map()

/**
 * Hear about every record event of `target` until the returned function is called.
 * @param {string} target @param {(type: string, id: string) => void} listener
 */
function watchTarget (target, listener) {
  let feed = feeds.get(target)
  if (!feed) {
    const made = { listeners: new Set(), stop: new AbortController() }
    /** @param {string} type @param {string} id */
    const tell = (type, id) => { for (const each of made.listeners) each(type, id) }
    followCollection(target, made.stop.signal, {
      // The titles were just read: only a reconnection that may have missed events reads them again.
      open: ({ resumed, initial }) => { if (!resumed && !initial) tell('reload', '') },
      record: (type, data) => tell(type, data.record),
      presence: () => {},
      reset: () => tell('reload', '')
    })
    feeds.set(target, made)
    feed = made
  }
  feed.listeners.add(listener)
  const current = feed
  return () => {
    current.listeners.delete(listener)
    if (current.listeners.size === 0) {
      current.stop.abort()
      feeds.delete(target)
    }
  }
}

/** @param {unknown} value @returns {string[]} */
const idsOf = (value) => Array.isArray(value) ? value.filter((id) => typeof id === 'string') : []

/**
 * @param {FieldSpec} spec
 * @param {(ids: string[] | null) => void} onChange the person changed the links (null: none left)
 * @returns {Widget}
 */
export function linkPicker (spec, onChange) {
  const target = spec.target ?? ''
  let ids = /** @type {string[]} */ ([])
  const chips = h('ul', { class: 'chips', 'data-testid': `links-${spec.key}` })
  const listId = `field-${spec.key}-results`
  const search = h('input', {
    type: 'search',
    autocomplete: 'off',
    role: 'combobox',
    'aria-autocomplete': 'list',
    'aria-expanded': 'false',
    'aria-controls': listId,
    placeholder: `Search ${target} to link…`
  })
  const results = h('ul', { class: 'link-results', role: 'listbox', id: listId, hidden: true, 'data-testid': `link-results-${spec.key}` })
  const element = h('div', { class: 'link-picker' }, chips, search, results)

  /** @param {string} id @param {boolean} fresh read its title from the server now */
  const chip = (id, fresh) => {
    const title = h('a', { href: `#/records/${encodeURIComponent(id)}`, class: 'chip-title' }, '…')
    const remove = h('button', {
      type: 'button',
      class: 'chip-remove',
      'aria-label': 'Unlink',
      onclick: () => change(ids.filter((other) => other !== id))
    }, '×')
    const item = h('li', { class: 'chip', 'data-id': id, 'data-testid': 'link-chip' }, title, remove)
    showTitle(item, id, fresh)
    return item
  }
  /** @param {HTMLElement} item @param {string} id @param {boolean} fresh */
  const showTitle = (item, id, fresh) => {
    linkTitle(id, { fresh }).then(({ title, deleted }) => {
      const link = /** @type {HTMLElement} */ (item.querySelector('.chip-title'))
      link.textContent = title
      item.classList.toggle('deleted', deleted)
      const remove = item.querySelector('.chip-remove')
      remove?.setAttribute('aria-label', `Unlink ${title}`)
    }, () => {}) // offline: the chip keeps what it shows
  }
  const draw = () => chips.replaceChildren(...ids.map((id) => chip(id, false)))
  /** @param {string[]} next */
  const change = (next) => {
    ids = next
    draw()
    onChange(next.length ? next : null)
  }

  // -- search as you type
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer
  let asked = 0 // only the newest question's answer is shown
  const close = () => {
    results.hidden = true
    results.replaceChildren()
    search.setAttribute('aria-expanded', 'false')
  }
  /** @param {string} id @param {string} title */
  const pick = (id, title) => {
    knownTitle(id, title)
    change(spec.many ? [...ids.filter((other) => other !== id), id] : [id])
    search.value = ''
    close()
    search.focus()
  }
  const ask = async () => {
    const question = ++asked
    const q = search.value
    if (!q.trim()) return close()
    let found
    try {
      const [records, known] = await Promise.all([api.searchRecords(target, q, RESULTS), api.listCollections()])
      found = records.slice(0, RESULTS).map((record) => ({ id: record.id, title: titleOfRecord({ ...record, collection: target }, known) }))
    } catch (error) {
      found = null
      if (question === asked) results.replaceChildren(h('li', { class: 'muted' }, `Cannot search: ${error.message}`))
    }
    if (question !== asked || found === null) return
    const options = found.filter((record) => !ids.includes(record.id)).map((record) =>
      h('li', {
        role: 'option',
        tabindex: '-1',
        'data-id': record.id,
        'data-testid': 'link-option',
        onclick: () => pick(record.id, record.title),
        onkeydown: (/** @type {KeyboardEvent} */ event) => onOptionKey(event, () => pick(record.id, record.title))
      }, record.title))
    const none = found.length ? 'Every matching record is linked already' : 'No matching records'
    results.replaceChildren(...(options.length ? options : [h('li', { class: 'muted' }, none)]))
    results.hidden = false
    search.setAttribute('aria-expanded', 'true')
  }
  /** Arrows move between the options (up from the first: back to the box), Enter or Space picks one.
   * @param {KeyboardEvent} event @param {() => void} choose */
  const onOptionKey = (event, choose) => {
    const option = /** @type {HTMLElement} */ (event.currentTarget)
    const next = event.key === 'ArrowDown' ? option.nextElementSibling
      : event.key === 'ArrowUp' ? option.previousElementSibling ?? search : null
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault()
      choose()
    } else if (next instanceof HTMLElement) {
      event.preventDefault()
      next.focus()
    } else if (event.key === 'Escape') {
      close()
      search.focus()
    }
  }
  search.addEventListener('input', () => {
    clearTimeout(timer)
    timer = setTimeout(ask, SEARCH_DELAY_MS)
  })
  search.addEventListener('keydown', (event) => {
    const first = results.querySelector('[role=option]')
    if (event.key === 'ArrowDown') {
      event.preventDefault()
      if (first instanceof HTMLElement) first.focus()
    } else if (event.key === 'Escape') {
      close()
    } else if (event.key === 'Enter') {
      event.preventDefault() // the record form never submits
      if (first instanceof HTMLElement) first.click()
    }
  })
  element.addEventListener('focusout', (event) => {
    const next = /** @type {FocusEvent} */ (event).relatedTarget
    if (!(next instanceof Node) || !element.contains(next)) close()
  })

  // -- following the targets' titles
  const stopWatching = watchTarget(target, (type, id) => {
    for (const item of /** @type {NodeListOf<HTMLElement>} */ (chips.querySelectorAll('.chip'))) {
      const itemId = item.dataset.id ?? ''
      if (type === 'reload' || itemId === id) showTitle(item, itemId, true)
    }
  })

  return {
    element,
    control: search,
    set (value) {
      ids = idsOf(value)
      // The page just opened, or someone else changed the links: titles as they are now.
      chips.replaceChildren(...ids.map((id) => chip(id, true)))
    },
    destroy () {
      clearTimeout(timer)
      stopWatching()
    }
  }
}
