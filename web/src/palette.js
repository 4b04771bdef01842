// The command palette (Ctrl/⌘+K): type to jump to a collection or to a record by its title, arrows to
// choose, Enter to go, Escape to close. A modal <dialog> (focus kept inside, Escape for free) holding a
// combobox: the input keeps the focus and points at the active option (aria-activedescendant), as screen
// readers expect of a list that filters as one types.
//
// Records come from the list API's search (`q`), which searches one collection at a time: the first
// SEARCHED_COLLECTIONS collections are asked in parallel, and an answer to an older query is dropped.
import * as api from './api.js'
import { h } from './dom.js'
import { SEARCHED_COLLECTIONS, moveActive, paletteItems } from './palette-items.js'

/** @typedef {import('./palette-items.js').PaletteItem} PaletteItem */

const SEARCH_DELAY_MS = 150

/** The palette open now, if any: a second Ctrl+K focuses it rather than opening another. */
/** @type {HTMLDialogElement | null} */
let open = null

/** Open the palette (or bring the open one back to its input). */
export function openPalette () {
  if (open) {
    open.querySelector('input')?.focus()
    return
  }
  const input = h('input', {
    type: 'text',
    role: 'combobox',
    autocomplete: 'off',
    placeholder: 'Go to a collection or a record…',
    'aria-label': 'Go to',
    'aria-expanded': 'true',
    'aria-controls': 'palette-options',
    'aria-autocomplete': 'list',
    'data-testid': 'palette-input'
  })
  input.spellcheck = false // names, not prose
  const list = h('ul', { id: 'palette-options', role: 'listbox', 'aria-label': 'Matches', 'data-testid': 'palette-options' })
  const status = h('p', { class: 'palette-status', role: 'status', 'data-testid': 'palette-status' })
  const dialog = h('dialog', { class: 'palette', 'aria-label': 'Go to', 'data-testid': 'palette' }, input, list, status)
  open = dialog

  /** @type {import('./types.js').Collection[]} */
  let collections = []
  /** @type {PaletteItem[]} */
  let items = []
  let active = -1
  let asked = 0 // the newest query's number: older answers are dropped
  /** @type {string | null} */
  let answered = null // the query whose whole answer is shown (records included)
  let moved = false // the arrows chose among the options shown
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer

  const draw = () => {
    list.replaceChildren(...items.map((item, i) => {
      const option = h('li', {
        id: `palette-option-${i}`,
        role: 'option',
        class: `palette-option ${item.kind}`,
        'aria-selected': String(i === active),
        'data-testid': 'palette-option',
        onmousedown: (/** @type {MouseEvent} */ event) => event.preventDefault(), // the input keeps the focus
        onclick: () => go(item)
      }, h('span', { class: 'palette-label' }, item.label), h('span', { class: 'palette-detail' }, item.detail))
      return option
    }))
    if (active >= 0) {
      input.setAttribute('aria-activedescendant', `palette-option-${active}`)
      list.children[active]?.scrollIntoView({ block: 'nearest' })
    } else {
      input.removeAttribute('aria-activedescendant')
    }
  }

  /** @param {PaletteItem[]} next @param {string} [words] said to screen readers */
  const show = (next, words) => {
    items = next
    active = items.length > 0 ? 0 : -1
    moved = false
    status.textContent = words ?? (items.length === 0 ? 'Nothing matches.' : `${items.length} ${items.length === 1 ? 'match' : 'matches'}`)
    draw()
  }

  const search = async () => {
    const query = input.value
    const mine = ++asked
    show(paletteItems(query, collections, []), query.trim() ? 'Searching…' : undefined)
    if (!query.trim()) {
      answered = query
      return
    }
    const searched = collections.slice(0, SEARCHED_COLLECTIONS)
    const found = await Promise.all(searched.map(async (collection) => ({
      collection,
      records: await api.listRecords(collection.name, query).catch(() => [])
    })))
    if (mine === asked && open === dialog) {
      show(paletteItems(query, collections, found))
      answered = query
    }
  }
  const goToActive = () => { if (active >= 0 && items[active]) go(items[active]) }

  /** @param {PaletteItem} item */
  const go = (item) => {
    dialog.close()
    location.hash = item.href
  }

  input.addEventListener('input', () => {
    clearTimeout(timer)
    timer = setTimeout(search, SEARCH_DELAY_MS)
  })
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault()
      active = moveActive(active, event.key === 'ArrowDown' ? 1 : -1, items.length)
      moved = true
      draw()
    } else if (event.key === 'Enter') {
      event.preventDefault()
      if (moved || answered === input.value) {
        goToActive()
        return
      }
      // Typed faster than the search answers: what is shown may be an older query's answer, or no
      // records yet. Enter goes to the first match of what was typed, once it is known.
      clearTimeout(timer)
      const query = input.value
      search().then(() => { if (open === dialog && answered === query && input.value === query) goToActive() })
    }
  })
  dialog.addEventListener('close', () => {
    clearTimeout(timer)
    asked++
    dialog.remove()
    if (open === dialog) open = null
  })

  document.body.append(dialog)
  dialog.showModal()
  input.focus()
  status.textContent = 'Loading…'
  api.listCollections().then((listed) => {
    collections = listed
    if (open === dialog) search()
  }, () => {
    status.textContent = 'The collections could not be loaded.'
  })
}
