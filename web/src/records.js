// The list of a collection's records: search as you type (on the server), create, delete with Undo.
//
// While it is shown the list is live, from the collection's change feed (feed.js): records others create
// appear, deleted ones go, restored ones come back, edited rows show their new values and who changed them,
// and each row shows who has that record open. Rows that come or go are announced politely to screen
// readers; focus is never moved, except off a row that is being removed.
//
// Offline, it lists the records kept on this device instead, which can be opened and edited
// (kept-list.js).
import * as api from './api.js'
import { h, mount, pageHeading } from './dom.js'
import { followCollection } from './feed.js'
import { titleField } from './fields.js'
import { showKept } from './kept-list.js'
import { keptCollections, rememberCollections } from './local-store.js'
import { createOffline, newRecordId } from './offline-create.js'
import { avatar, colorOf } from './presence.js'
import { applyEvent } from './record-list.js'
import { canEdit, currentUser } from './session.js'
import { ago, timeProps } from './time.js'
import { toast } from './toast.js'
import { nameOf } from './wording.js'
import { newRecordFields, tabTitle } from './workspace.js'

const SEARCH_DELAY_MS = 200
const FEED_SEARCH_DELAY_MS = 300 // a burst of changes while a search is on runs the search once
const REWORD_EVERY_MS = 60_000 // "just now" becomes "2 minutes ago"
const ANNOUNCED_MS = 10_000 // how long a said line stays in the live region

/** @typedef {import('./types.js').RecordData} RecordData */
/** @typedef {import('./types.js').User} User */
/** @typedef {import('./record-list.js').RecordEvent} RecordEvent */
/** @typedef {{id: string, name: string, color: string}} Here someone else who has a record open */
/**
 * One row of the list: the record it shows (null until drawn) and its elements.
 * @typedef {{ record: RecordData | null, item: HTMLLIElement, link: HTMLAnchorElement, meta: HTMLElement,
 *   conflicts: HTMLElement, here: HTMLUListElement, remove: HTMLButtonElement | null }} Row
 */

/** The address of a record's page. @param {string} id */
export const recordHash = (id) => `#/records/${encodeURIComponent(id)}`


/**
 * @param {HTMLElement} root
 * @param {{collection: string}} options the collection's name
 * @param {AbortSignal} signal
 */
export async function showRecords (root, { collection: name }, signal) {
  const me = /** @type {User} */ (currentUser()) // this view is only shown signed in
  let collections, first
  try {
    [collections, first] = await Promise.all([api.listCollections(), api.listRecords(name)])
  } catch (error) {
    if (!error.offline) throw error
    const kept = keptCollections(me).find((c) => c.name === name)
    document.title = tabTitle(kept?.label)
    await showKept(root, { collection: name, newRecord: kept ? newRecordFields(kept.label, titleField(kept)) : {} }, signal)
    return
  }
  if (signal.aborted) return
  const collection = collections.find((c) => c.name === name)
  if (!collection) throw new Error(`There is no collection "${name}".`)
  rememberCollections(me, collections) // for "New record" without a network (kept-list.js)
  document.title = tabTitle(collection.label)
  const titleKey = titleField(collection)
  // What a record made by "New record" starts with: "New customer" in its title field.
  const newRecord = newRecordFields(collection.label, titleKey)
  /** @param {{fields: Record<string, any>}} record */
  const titleOf = (record) => {
    const title = titleKey ? record.fields[titleKey] : null
    return typeof title === 'string' && title.trim() ? title : 'Untitled'
  }
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true })
  /** @param {string} what @param {any} error */
  const fail = (what, error) => {
    problem.textContent = `${what}: ${error.message}`
    problem.hidden = false
  }
  const list = h('ul', { class: 'records', 'data-testid': 'record-list' })
  const empty = h('li', { class: 'empty' })
  // Polite, and outside the list: screen readers hear what came and went without losing their place.
  const announcer = h('div', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite', 'data-testid': 'list-announcer' })
  const search = h('input', {
    type: 'search', id: 'search', name: 'q', autocomplete: 'off', placeholder: 'Name, email, notes…'
  })
  const searching = () => search.value.trim() !== ''

  // -- the model: what the list shows, newest first as the server lists them; draw() makes the DOM match

  let shown = first
  /** Row elements by record id, reused from draw to draw so focus and hover stay where they are. */
  /** @type {Map<string, Row>} */
  const rows = new Map()
  /** Who else has each record open, by record id (from the feed's presence events). */
  /** @type {Map<string, Here[]>} */
  const present = new Map()
  /** What to say when a draw adds (`add`) or removes (`remove`) a record, by record id. `asked`: the
   * newest search asked when the event came; a search asked after it has the final word. */
  /** @type {Map<string, {kind: string, text: string, asked: number}>} */
  const pending = new Map()

  /**
   * Remember what to announce if the event adds or removes a row.
   * @param {string} type @param {RecordEvent} data
   */
  const noteEvent = (type, data) => {
    // The user's own doing (here or in another tab) is no news: the toast or the page they were on said it.
    if (data.by?.id === me.id) return
    const who = data.by ? nameOf(data.by, 'someone') : 'Someone'
    const known = shown.find((record) => record.id === data.record)
    const title = known ? titleOf(known) : titleOf({ fields: data.fields ?? {} })
    /** @type {Record<string, [string, string]>} */
    const sayings = {
      'record.created': ['add', `${who} added “${title}”.`],
      'record.restored': ['add', `${who} restored “${title}”.`],
      'record.deleted': ['remove', `${who} deleted “${title}”.`]
    }
    const say = sayings[type]
    if (say) pending.set(data.record, { kind: say[0], text: say[1], asked })
  }

  /** Say the pending line for `id` if this draw did what it announces; true if something was said. */
  /** @param {string} id @param {'add' | 'remove'} kind */
  const announce = (id, kind) => {
    const entry = pending.get(id)
    if (entry?.kind !== kind) return false
    pending.delete(id)
    // A new node each time, so a repeated sentence is announced again.
    const line = h('p', {}, entry.text)
    announcer.append(line)
    setTimeout(() => line.remove(), ANNOUNCED_MS)
    return true
  }

  // -- rows

  /** @param {Row} row */
  const reword = (row) => {
    if (!row.record) return
    const { updated_at: at, updated_by: by } = row.record
    if (!at) return row.meta.replaceChildren()
    row.meta.replaceChildren(by ? `updated by ${nameOf(by, 'someone')} · ` : 'updated · ', h('time', timeProps(at), ago(at)))
  }

  /** @param {Row} row */
  const drawPresence = (row) => {
    if (!row.record) return
    row.here.replaceChildren(...(present.get(row.record.id) ?? []).map((user) => avatar(user)))
  }

  /** @param {Row} row @param {RecordData} record */
  const update = (row, record) => {
    if (row.record === record) return
    row.record = record
    const title = titleOf(record)
    if (row.link.textContent !== title) row.link.textContent = title
    row.remove?.setAttribute('aria-label', `Delete ${title}`)
    const open = record.open_conflicts ?? 0
    row.conflicts.hidden = open === 0
    row.conflicts.title = open === 1 ? 'A value was replaced by a concurrent edit: open the record to settle it'
      : `${open} values were replaced by concurrent edits: open the record to settle them`
    reword(row)
  }

  /** @param {RecordData} record @returns {Row} */
  const makeRow = (record) => {
    const link = h('a', { href: recordHash(record.id) })
    const meta = h('p', { class: 'record-meta', 'data-testid': 'record-meta' })
    const here = h('ul', { class: 'avatars here', 'aria-label': 'Open now by', 'data-testid': 'record-presence' })
    const remove = canEdit()
      ? h('button', { type: 'button', class: 'secondary', onclick: () => removeRecord(record.id) }, 'Delete')
      : null
    const conflicts = h('span', { class: 'conflict-badge', hidden: true, 'data-testid': 'record-conflicts' }, '⚠ conflict')
    const item = h('li', { 'data-testid': 'record', 'data-id': record.id },
      h('div', { class: 'record-main' }, link, meta), conflicts, here, remove)
    /** @type {Row} */
    const row = { record: null, item, link, meta, conflicts, here, remove }
    update(row, record)
    drawPresence(row)
    return row
  }

  /** The row holding focus is going: put focus on a neighbour that stays, not on the page's body. */
  /** @param {HTMLElement} item @param {Set<string>} staying */
  const keepFocus = (item, staying) => {
    if (!item.contains(document.activeElement)) return
    /** @param {Element | null} node @returns {node is HTMLElement} */
    const stays = (node) => node instanceof HTMLElement && staying.has(node.dataset.id ?? '')
    let next = item.nextElementSibling
    while (next && !stays(next)) next = next.nextElementSibling
    let previous = item.previousElementSibling
    while (previous && !stays(previous)) previous = previous.previousElementSibling
    const target = (next ?? previous)?.querySelector('a') ?? search
    target.focus()
  }

  /** Make the DOM match `shown`. `answered`: the search whose answer this is, if any. */
  /** @param {number} [answered] */
  const draw = (answered = 0) => {
    const staying = new Set(shown.map((record) => record.id))
    for (const [id, row] of rows) {
      if (staying.has(id)) continue
      keepFocus(row.item, staying)
      row.item.remove()
      rows.delete(id)
      announce(id, 'remove')
    }
    if (shown.length) empty.remove()
    /** @type {HTMLElement | null} */
    let previous = null
    for (const record of shown) {
      let row = rows.get(record.id)
      if (row) {
        update(row, record)
      } else {
        row = makeRow(record)
        rows.set(record.id, row)
        // Highlighted only when it arrived live, not when a search brought it.
        if (announce(record.id, 'add')) row.item.classList.add('arrived')
      }
      // Move only rows that are out of place: moving the one holding focus would drop the focus.
      /** @type {ChildNode | null} */
      const place = previous ? previous.nextSibling : list.firstChild
      if (place !== row.item) list.insertBefore(row.item, place)
      previous = row.item
    }
    if (!shown.length) {
      empty.textContent = searching() ? 'No records match.' : 'No records yet.'
      list.append(empty)
    }
    // Lines for records the newest answer does not show are not going to be said.
    for (const [id, entry] of pending) if (entry.asked < answered) pending.delete(id)
  }

  // -- reading the list from the server

  // Answers may arrive out of order: only the newest search's answer is shown.
  let asked = 0
  /** Feed events that came while the newest answer was on its way: it may predate them. */
  /** @type {Array<[string, RecordEvent]> | null} */
  let arrivedMeanwhile = null
  const refresh = async () => {
    clearTimeout(timer)
    const mine = ++asked
    /** @type {Array<[string, RecordEvent]>} */
    const arrived = []
    arrivedMeanwhile = arrived
    try {
      const records = await api.listRecords(name, search.value)
      if (mine !== asked || signal.aborted) return
      arrivedMeanwhile = null
      // Those that need the server again have asked for another search already (onRecord).
      for (const [type, data] of arrived) applyEvent(records, type, data, searching())
      shown = records
      problem.hidden = true
      draw(mine)
    } catch (error) {
      if (mine !== asked || signal.aborted) return
      arrivedMeanwhile = null
      fail(searching() ? 'Could not search' : 'Could not load the list', error)
    }
  }
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer
  /** @param {number} delay */
  const refreshSoon = (delay) => {
    clearTimeout(timer)
    timer = setTimeout(refresh, delay)
  }
  search.addEventListener('input', () => refreshSoon(SEARCH_DELAY_MS))

  // -- the change feed

  /** @param {string} type @param {RecordEvent} data */
  const onRecord = (type, data) => {
    arrivedMeanwhile?.push([type, data])
    noteEvent(type, data)
    if (applyEvent(shown, type, data, searching())) refreshSoon(FEED_SEARCH_DELAY_MS)
    draw()
  }

  // Colours are worked out asynchronously: only the newest presence event of a record is drawn.
  let presenceCount = 0
  /** @type {Map<string, number>} */
  const newestPresence = new Map()
  /** @param {import('./feed.js').Presence} presence */
  const onPresence = async ({ record, users }) => {
    const mine = ++presenceCount
    newestPresence.set(record, mine)
    // Others only: the user's own tabs are no news to them. The server lists each person once.
    const others = await Promise.all((users ?? []).filter((user) => user.id !== me.id)
      .map(async (user) => ({ id: user.id, name: user.name || 'Someone', color: await colorOf(user.id) })))
    if (signal.aborted || newestPresence.get(record) !== mine) return
    if (others.length) present.set(record, others)
    else present.delete(record)
    const row = rows.get(record)
    if (row) drawPresence(row)
  }

  followCollection(name, signal, {
    open ({ resumed }) {
      // The server sends presence afresh on every connection: what we had may be out of date.
      present.clear()
      newestPresence.clear()
      for (const row of rows.values()) drawPresence(row)
      // Without a replay (the first connection, or no event seen yet), changes made since the list was
      // read are unknown: read it again. With one, the server sends exactly what was missed.
      if (!resumed) refresh()
    },
    record: onRecord,
    presence: onPresence,
    reset: refresh
  })
  const rewording = setInterval(() => rows.forEach(reword), REWORD_EVERY_MS)
  signal.addEventListener('abort', () => {
    clearTimeout(timer)
    clearInterval(rewording)
  }, { once: true })

  // -- deleting and creating

  /** @param {string} id */
  const removeRecord = async (id) => {
    const record = rows.get(id)?.record
    if (!record) return
    try {
      await api.deleteRecord(id)
    } catch (error) {
      fail('Could not delete', error)
      return
    }
    if (signal.aborted) return
    // The feed's record.deleted will find it gone already; the toast says it, with Undo.
    shown = shown.filter((entry) => entry.id !== id)
    draw()
    toast(`Deleted “${titleOf(record)}”.`, {
      label: 'Undo',
      run: async () => {
        try {
          await api.undeleteRecord(id)
          if (!signal.aborted) await refresh()
        } catch (error) {
          toast(`Could not undo: ${error.message}`)
        }
      }
    })
  }

  const newButton = canEdit() ? h('button', { type: 'button', 'data-testid': 'new-record' }, 'New record') : null
  newButton?.addEventListener('click', async () => {
    newButton.disabled = true
    const id = newRecordId()
    try {
      const created = await api.createRecordWithId(id, name, newRecord)
      location.hash = recordHash(created.id)
    } catch (error) {
      // No answer: make it on this device under the same id, created (once) when the server is back.
      if (error.offline && !signal.aborted) {
        location.hash = recordHash(await createOffline(me, collection, newRecord, titleOf({ fields: newRecord }), id))
        return
      }
      fail('Could not create a record', error)
      newButton.disabled = false
    }
  })

  draw()
  mount(root,
    h('div', { class: 'list-head' }, pageHeading(collection.label), newButton),
    h('div', { class: 'field search', role: 'search' }, h('label', { for: 'search' }, `Search ${collection.label.toLowerCase()}`), search),
    problem,
    announcer,
    list)
}
