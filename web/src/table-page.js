// A collection's page (`#/c/NAME`): its records as a table (table-view.js) with a toolbar (New record,
// search, filters, columns, export, import, trash) and a total count. Loaded by records.js with a dynamic
// import(), so the record page never loads Lit nor TanStack.
//
// The rows are read page by page as they scroll into view (table-data.js keeps memory bounded) and kept
// live from the collection's change feed (feed.js): records others create appear, edited ones update,
// deleted ones leave, and each row shows who has that record open (the feed's presence events, which the
// server sends for every record of the collection: no request per row). What came and went is announced
// politely to screen readers.
import * as api from './api.js'
import { loadPrefs, moved, prefsKey, savePrefs, toggled, clampWidth } from './column-prefs.js'
import { h, mount, pageHeading } from './dom.js'
import { followCollection } from './feed.js'
import { titleField } from './fields.js'
import { newRecordButton } from './new-record-button.js'
import { schemaFollower } from './schema-watch.js'
import { canEdit } from './session.js'
import { COLLECTIONS_CHANGED } from './sidebar.js'
import { recordHash } from './table-cells.js'
import { TITLE, columnsOf, movable } from './table-columns.js'
import { RowWindow } from './table-data.js'
import { cellCommitter } from './table-edit.js'
import { announcer, rowPresence } from './table-live.js'
import { columnChooser, filterBar } from './table-filter-bar.js'
import { defaultView, exportHref, isPlain, listParams, toggledSort } from './table-filters.js'
import { CollabTable } from './table-view.js'
import { toast } from './toast.js'
import { nameOf } from './wording.js'
import { newRecordFields } from './workspace.js'

const PAGE_SIZE = 200
const SEARCH_DELAY_MS = 200
const REFRESH_DELAY_MS = 300 // a burst of changes the server must place runs one refresh
const REWORD_EVERY_MS = 60_000

/** @typedef {import('./types.js').RecordData} RecordData */
/** @typedef {import('./types.js').User} User */

/**
 * @param {HTMLElement} root
 * @param {{ collection: import('./types.js').Collection, me: User }} options
 * @param {AbortSignal} signal
 */
export async function showTable (root, { collection, me }, signal) {
  const name = collection.name
  const specs = collection.fields
  const titleKey = titleField(collection)
  const newRecord = newRecordFields(collection.label, titleKey)
  /** @param {{ fields: Record<string, any> }} record */
  const titleOf = (record) => {
    const title = titleKey ? record.fields[titleKey] : null
    return typeof title === 'string' && title.trim() ? title : 'Untitled'
  }
  const columns = columnsOf(specs, titleKey)
  const storageKey = prefsKey(me, name)
  let prefs = loadPrefs(localStorage, storageKey, movable(columns).map((column) => column.key))
  let view = defaultView()
  let rows = new RowWindow({ pageSize: PAGE_SIZE })

  const problem = h('p', { class: 'problem', role: 'alert', hidden: true })
  /** @param {string} what @param {any} error */
  const fail = (what, error) => {
    problem.textContent = `${what}: ${error.message}`
    problem.hidden = false
  }
  const saveState = h('p', { class: 'table-save-state', role: 'status', 'data-testid': 'table-save-state' })
  const count = h('p', { class: 'record-count', 'data-testid': 'record-count' })
  const search = h('input', { type: 'search', id: 'search', name: 'q', autocomplete: 'off', placeholder: 'Search…' })
  const table = /** @type {CollabTable} */ (document.createElement('collab-table'))

  // -- reading pages as they come into view

  let generation = 0 // a new view, or a refresh, makes answers to older requests worthless
  let range = { first: 0, last: 40 }
  let reading = false
  /** Feed events that came while a page was on its way: its answer may predate them. */
  /** @type {Array<[string, any]>} */
  let meanwhile = []
  /** @param {string | null} cursor */
  const readPage = (cursor) => api.listPage({ collection: name, ...listParams(specs, view).params, limit: PAGE_SIZE, cursor })

  const draw = () => {
    count.textContent = `${rows.estimate ? 'about ' : ''}${rows.total.toLocaleString('en')} ${rows.total === 1 ? 'record' : 'records'}`
    table.emptyText = view.q.trim() || !isPlain(specs, view) ? 'No records match.' : 'No records yet.'
    table.rows = rows
    table.version += 1
    said.say()
  }

  /** Read the pages the rows in view need, one after the other (the chain is read in order). */
  const fill = async () => {
    if (reading) return
    reading = true
    try {
      for (let want = rows.wanted(range.first, range.last); want && !signal.aborted; want = rows.wanted(range.first, range.last)) {
        const mine = generation
        meanwhile = []
        const answer = await readPage(want.cursor)
        if (mine !== generation || signal.aborted) continue
        if (!rows.accept(want.page, want.cursor, answer)) continue
        for (const [type, data] of meanwhile) rows.apply(type, data, isPlain(specs, view))
        rows.evict(rows.locate(range.first)?.page ?? 0)
        problem.hidden = true
        draw()
      }
    } catch (error) {
      if (!signal.aborted) fail('Could not load the list', error)
    } finally {
      reading = false
    }
  }

  /** The first page again (the total with it), then what is in view; rows held stay shown meanwhile. */
  const refresh = async () => {
    clearTimeout(refreshTimer)
    const mine = ++generation
    meanwhile = []
    try {
      const answer = await readPage(null)
      if (mine !== generation || signal.aborted) return
      rows.markStale()
      rows.accept(0, null, answer)
      for (const [type, data] of meanwhile) rows.apply(type, data, isPlain(specs, view))
      problem.hidden = true
      draw()
      fill()
    } catch (error) {
      if (mine === generation && !signal.aborted) fail(view.q.trim() ? 'Could not search' : 'Could not load the list', error)
    }
  }
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let refreshTimer
  const refreshSoon = (delay = REFRESH_DELAY_MS) => {
    clearTimeout(refreshTimer)
    refreshTimer = setTimeout(refresh, delay)
  }

  /** Show another view (sort, filters, search): read from its first page. @param {import('./table-filters.js').View} next */
  const setView = (next) => {
    view = next
    said.clear()
    bar.showProblems(listParams(specs, view).problems)
    rows = new RowWindow({ pageSize: PAGE_SIZE })
    table.sorting = { sort: view.sort, order: view.order }
    table.scroller.value?.scrollTo({ top: 0 })
    range = { first: 0, last: 40 }
    links()
    refresh()
  }
  search.addEventListener('input', () => {
    clearTimeout(searchTimer)
    searchTimer = setTimeout(() => setView({ ...view, q: search.value }), SEARCH_DELAY_MS)
  })
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let searchTimer

  // -- the change feed

  const said = announcer({ me, titleOf, held: (id) => {
    const at = rows.find(id)
    return at ? rows.pages[at.page].records?.[at.offset] ?? null : null
  } })
  const here = rowPresence({ me, signal, changed: () => table.requestUpdate() })
  // An admin changed the fields or the label: the page is drawn again with the new columns (main.js).
  const schema = schemaFollower(collection, () => window.dispatchEvent(new Event(COLLECTIONS_CHANGED)), () => !signal.aborted)
  followCollection(name, signal, {
    open (state) {
      here.clear()
      // Without a replay (the first connection, or no event seen yet), changes made since the rows were
      // read are unknown: read again. With one, the server sends exactly what was missed.
      if (!state.resumed) refresh()
      schema.open(state)
    },
    record (type, data) {
      meanwhile.push([type, data])
      said.note(type, data)
      const plain = isPlain(specs, view)
      let effect = rows.apply(type, data, plain)
      // Filtered or searched, an edit may make a record not shown match: only the server knows.
      if (effect === 'none' && type === 'record.updated' && !plain) effect = 'refresh'
      if (effect === 'refresh') refreshSoon()
      else if (effect === 'draw') draw()
    },
    presence: here.update,
    reset: () => {
      refresh()
      schema.reset()
    },
    schema: schema.schema
  })

  // -- editing, deleting, creating

  table.onCommit = cellCommitter({ table, saveState, signal, draw, rows: () => rows })

  table.onDelete = async (record) => {
    try {
      await api.deleteRecord(record.id)
    } catch (error) {
      fail('Could not delete', error)
      return
    }
    if (signal.aborted) return
    rows.apply('record.deleted', { record: record.id, at: '', by: null }, isPlain(specs, view))
    draw()
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

  const newButton = canEdit()
    ? newRecordButton({ me, collection, fields: newRecord, title: titleOf({ fields: newRecord }), signal, fail })
    : null

  // -- the toolbar

  /** People seen in the rows held, for "Updated by". */
  const people = () => {
    /** @type {Map<string, string>} */
    const seen = new Map([[me.id, `${me.name || me.email} (me)`]])
    for (const page of rows.pages) for (const record of page.records ?? []) {
      if (record.updated_by && !seen.has(record.updated_by.id)) seen.set(record.updated_by.id, nameOf(record.updated_by, 'someone'))
    }
    return [...seen].map(([id, person]) => ({ id, name: person }))
  }
  const bar = filterBar({ specs, getView: () => view, onChange: setView, people })
  /** @param {import('./column-prefs.js').ColumnPrefs} next */
  const setPrefs = (next) => {
    prefs = next
    savePrefs(localStorage, storageKey, prefs)
    table.prefs = prefs
    chooser.draw()
    links()
    table.requestUpdate()
  }
  const chooser = columnChooser({
    columns: movable(columns),
    getPrefs: () => prefs,
    onShow: (key, show) => setPrefs(toggled(prefs, key, show)),
    onMove: (key, step) => setPrefs(moved(prefs, key, step))
  })
  const csv = h('a', { class: 'button-link', 'data-testid': 'export-csv' }, 'Export CSV')
  const json = h('a', { class: 'button-link', 'data-testid': 'export-json' }, 'Export JSON')
  const links = () => {
    const visible = [titleKey ?? '', ...prefs.order.filter((key) => !prefs.hidden.includes(key) && key !== '_updated')].filter(Boolean)
    const params = listParams(specs, view).params
    csv.setAttribute('href', exportHref(name, 'csv', visible, params))
    json.setAttribute('href', exportHref(name, 'json', visible, params))
  }
  links()

  Object.assign(table, {
    columns,
    prefs,
    canEdit: canEdit(),
    titleOf,
    presence: here.avatars,
    onRange: (/** @type {number} */ first, /** @type {number} */ last) => { range = { first, last }; fill() },
    onSort: (/** @type {string} */ key) => setView(toggledSort(view, key === TITLE ? titleKey ?? key : key)),
    onResize: (/** @type {string} */ key, /** @type {number} */ width) => setPrefs({ ...prefs, widths: { ...prefs.widths, [key]: clampWidth(width) } }),
    onOpen: (/** @type {RecordData} */ record) => { location.hash = recordHash(record.id) }
  })

  const first = await readPage(null)
  if (signal.aborted) return
  rows.accept(0, null, first)
  const rewording = setInterval(() => table.requestUpdate(), REWORD_EVERY_MS)
  signal.addEventListener('abort', () => {
    clearTimeout(refreshTimer)
    clearTimeout(searchTimer)
    clearInterval(rewording)
    bar.stop()
  }, { once: true })
  draw()
  mount(root,
    h('div', { class: 'list-head' }, pageHeading(collection.label), newButton),
    h('div', { class: 'table-toolbar' },
      h('div', { class: 'field search', role: 'search' }, h('label', { for: 'search' }, `Search ${collection.label.toLowerCase()}`), search),
      count,
      h('nav', { class: 'table-links', 'aria-label': `${collection.label}: more` },
        csv, json,
        canEdit() ? h('a', { class: 'button-link', href: `#/c/${encodeURIComponent(name)}/import`, 'data-testid': 'import-csv' }, 'Import CSV') : null,
        canEdit() ? h('a', { class: 'button-link', href: `#/c/${encodeURIComponent(name)}/trash`, 'data-testid': 'trash-link' }, 'Trash') : null)),
    h('div', { class: 'table-options' }, bar.element, chooser.element),
    problem,
    saveState,
    said.element,
    table)
}
