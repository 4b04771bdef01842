// Whether this device's edits of a record are durably stored, from collab's "saved" message (type 100).
//
// After each commit that holds a connection's updates (and once in answer to the sync step 1 of every
// connection) the server sends the encoded state vector of what is stored. Nothing else counts as saved:
// an update sent on the socket may still be lost if the server dies before committing it. The rules that
// confirm an edit are in pending-edits.js; this module feeds them from the provider and the browser.
//
// Pending edits outlive the page: the editor keeps them with the document in IndexedDB, so a record
// reopened offline (under a new client id) still knows that its earlier edits are not stored yet.
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import { MESSAGE } from './constants.js'
import { PendingEdits } from './pending-edits.js'
import { saveStateOf } from './save-status.js'

/** @typedef {import('./pending-edits.js').Pending} Pending */
/** @typedef {import('./save-status.js').SaveState} SaveState */

/**
 * Follow `provider`'s save state; `onChange(state)` runs now and whenever the state changes.
 * @param {import('y-websocket').WebsocketProvider} provider
 * @param {{ pending?: Pending[], onPending?: (pending: Pending[]) => void }} options
 *   the unconfirmed edits kept from earlier visits, and where to keep the list when it changes
 * @param {(state: SaveState) => void} onChange
 */
export function watchSaveState (provider, { pending: kept = [], onPending = () => {} }, onChange) {
  const doc = provider.doc
  const pending = new PendingEdits(kept)
  let everConnected = false
  let offline = !navigator.onLine
  /** @type {{ code: number, reason: string } | null} */
  let refused = null

  /** @returns {SaveState} */
  const current = () => saveStateOf({
    refused, connected: provider.wsconnected, everConnected, offline, count: pending.count, savedAt: pending.savedAt
  })

  /** @type {SaveState | null} */
  let last = null
  const update = () => {
    const next = current()
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
    pending.add(client, transaction.beforeState.get(client) ?? 0, Y.getState(doc.store, client), provider.wsconnected)
    keep()
    update()
  }

  // A y-websocket message handler: reads its payload from `decoder`. It must not write to `encoder`
  // (anything written there is sent back to the server as a reply).
  provider.messageHandlers[MESSAGE.SAVED] = (_encoder, decoder) => {
    const stored = Y.decodeStateVector(decoding.readVarUint8Array(decoder))
    if (pending.saved(stored, provider.wsconnected, new Date())) keep()
    update()
  }

  /** @param {{ status: string }} event */
  const onStatus = ({ status }) => {
    if (status === 'connecting') refused = null // the user asked to retry
    if (status === 'connected') {
      everConnected = true
      pending.connected()
    }
    update()
  }
  /** @param {{ code: number, reason: string }} event */
  const onClosed = ({ code, reason }) => {
    refused = { code, reason }
    update()
  }
  const onNetwork = () => {
    offline = !navigator.onLine
    update()
  }

  provider.on('status', onStatus)
  provider.on('closed', onClosed)
  doc.on('update', onUpdate)
  window.addEventListener('online', onNetwork)
  window.addEventListener('offline', onNetwork)
  update()

  return {
    current,
    /** Edits this device holds that the server has not confirmed yet. */
    unsaved: () => pending.count,
    stop () {
      provider.off('status', onStatus)
      provider.off('closed', onClosed)
      doc.off('update', onUpdate)
      window.removeEventListener('online', onNetwork)
      window.removeEventListener('offline', onNetwork)
      delete provider.messageHandlers[MESSAGE.SAVED]
    }
  }
}
