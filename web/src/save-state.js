// Whether this device's edits of a record are durably stored, from collab's "saved" message (type 100).
//
// After each commit that holds a connection's updates (and once in answer to the sync step 1 of every
// connection) the server sends the encoded state vector of what is stored. Nothing else counts as saved:
// an update sent on the socket may still be lost if the server dies before committing it. The rules that
// confirm an edit are in pending-edits.js; this module feeds them from the provider and the browser.
//
// What it shows must progress: a state waiting for the server that does not move for STALL_MS becomes an
// error with Retry (the timer re-checks it; `now` and `setTimer` can be replaced to test that).
//
// Pending edits outlive the page: the editor keeps them with the document in IndexedDB, so a record
// reopened offline (under a new client id) still knows that its earlier edits are not stored yet.
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import { MESSAGE } from './constants.js'
import { PendingEdits } from './pending-edits.js'
import { STALLED, Stall, saveStateOf } from './save-status.js'

/** @typedef {import('./pending-edits.js').Pending} Pending */
/** @typedef {import('./save-status.js').SaveState} SaveState */

/**
 * The field of the record's `fields` map that a transaction changed (a rich-text field's Y.Text is nested
 * in it); null when it changed none or several.
 * @param {Y.Transaction} transaction
 * @param {Y.Map<unknown>} fields
 * @returns {string | null}
 */
function fieldOf (transaction, fields) {
  /** @type {Set<string>} */
  const found = new Set()
  /** @type {unknown} */ const map = fields
  for (const [type, keys] of transaction.changed) {
    if (type === map) {
      for (const key of keys) if (typeof key === 'string') found.add(key)
      continue
    }
    // Walk up from a nested type to the entry of `fields` that holds it.
    let item = type._item
    while (item) {
      if (item.parent === map) {
        if (typeof item.parentSub === 'string') found.add(item.parentSub)
        break
      }
      item = item.parent instanceof Y.AbstractType ? item.parent._item : null
    }
  }
  return found.size === 1 ? [...found][0] : null
}

/**
 * Follow `provider`'s save state; `onChange(state)` runs now and whenever the state changes.
 * @param {import('y-websocket').WebsocketProvider} provider
 * @param {{ pending?: Pending[], onPending?: (pending: Pending[]) => void,
 *   now?: () => number, setTimer?: (run: () => void, ms: number) => unknown, clearTimer?: (timer: any) => void }} options
 *   the unconfirmed edits kept from earlier visits, where to keep the list when it changes, and the clock
 * @param {(state: SaveState) => void} onChange
 */
export function watchSaveState (provider, {
  pending: kept = [], onPending = () => {},
  now = () => Date.now(), setTimer = (run, ms) => setTimeout(run, ms), clearTimer = (timer) => clearTimeout(timer)
}, onChange) {
  const doc = provider.doc
  const fields = doc.getMap('fields')
  const pending = new PendingEdits(kept)
  let everConnected = false
  let offline = !navigator.onLine
  /** Sockets closed since the last connection was made. */
  let closes = 0
  /** The server refused our changes on this connection (our role no longer allows editing). */
  let denied = false
  /** @type {{ code: number, reason: string } | null} */
  let refused = null
  const stall = new Stall()
  /** @type {unknown} */
  let timer = null

  /** @param {boolean} [moved] whether the server just said what it stores @returns {SaveState} */
  const current = (moved = false) => {
    const state = saveStateOf({
      refused, denied, connected: provider.wsconnected, everConnected, offline, closes, count: pending.count, savedAt: pending.savedAt
    })
    if (!stall.check(state.state, now(), moved)) return state
    return { state: 'error', code: STALLED, reason: 'no answer from the server', count: pending.count }
  }

  /** @type {SaveState | null} */
  let last = null
  /** @param {boolean} [moved] */
  const update = (moved = false) => {
    const next = current(moved)
    if (timer !== null) clearTimer(timer)
    const due = stall.dueIn(now())
    timer = due === null ? null : setTimer(() => { timer = null; update() }, due)
    // The document changes on every keystroke; only re-render when what is shown changes.
    if (last && JSON.stringify(last) === JSON.stringify(next)) return
    last = next
    onChange(next)
  }

  const keep = () => onPending(pending.kept())

  /** @param {Uint8Array} _update @param {any} _origin @param {Y.Doc} _doc @param {Y.Transaction} transaction */
  const onUpdate = (_update, _origin, _doc, transaction) => {
    // Remote updates (from the server, from IndexedDB) are not ours to confirm.
    if (!transaction.local) return
    const client = doc.clientID
    pending.add(client, transaction.beforeState.get(client) ?? 0, Y.getState(doc.store, client), provider.wsconnected,
      { field: fieldOf(transaction, fields), at: now() })
    keep()
    update()
  }

  // A y-websocket message handler: reads its payload from `decoder`. It must not write to `encoder`
  // (anything written there is sent back to the server as a reply).
  provider.messageHandlers[MESSAGE.SAVED] = (_encoder, decoder) => {
    const stored = Y.decodeStateVector(decoding.readVarUint8Array(decoder))
    if (pending.saved(stored, provider.wsconnected, new Date(now()))) keep()
    // The server answers: that is progress, even while a burst still being typed is not all stored.
    update(true)
  }

  /** @param {{ status: string }} event */
  const onStatus = ({ status }) => {
    if (status === 'connecting') {
      refused = null // the user asked to retry
      denied = false // a new connection is judged by the role the user has now
    }
    if (status === 'connected') {
      everConnected = true
      closes = 0
      pending.connected()
    }
    update()
  }
  /** @param {{ code: number, reason: string }} event */
  const onClosed = ({ code, reason }) => {
    refused = { code, reason }
    update()
  }
  const onClose = () => {
    closes++
    update()
  }
  const onDenied = () => {
    denied = true
    update()
  }
  const onNetwork = () => {
    offline = !navigator.onLine
    update()
  }

  provider.on('status', onStatus)
  provider.on('closed', onClosed)
  provider.on('connection-close', onClose)
  // connection.js's own event, which y-websocket's event map does not list.
  /** @type {any} */ const events = provider
  events.on('permission-denied', onDenied)
  doc.on('update', onUpdate)
  window.addEventListener('online', onNetwork)
  window.addEventListener('offline', onNetwork)
  update()

  return {
    current,
    /** Edits this device holds that the server has not confirmed yet. */
    unsaved: () => pending.count,
    /** The fields whose edits the server has not confirmed: what a person would want to copy. */
    unsavedFields: () => pending.fields(),
    stop () {
      if (timer !== null) clearTimer(timer)
      timer = null
      provider.off('status', onStatus)
      provider.off('closed', onClosed)
      provider.off('connection-close', onClose)
      events.off('permission-denied', onDenied)
      doc.off('update', onUpdate)
      window.removeEventListener('online', onNetwork)
      window.removeEventListener('offline', onNetwork)
      delete provider.messageHandlers[MESSAGE.SAVED]
    }
  }
}
