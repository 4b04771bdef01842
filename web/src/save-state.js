// Whether this device's edits of a record are durably stored, from collab's "saved" message (type 100).
//
// After each commit that holds a connection's updates (and once in answer to the sync step 1 of every
// connection) the server sends the encoded state vector of what is stored. Every local transaction is
// kept as "pending" with the clock its client reached; it is confirmed once the stored vector's clock for
// that client has caught up. Nothing else counts as saved: an update sent on the socket may still be lost
// if the server dies before committing it.
//
// Pending edits outlive the page: the editor keeps them with the document in IndexedDB, so a record
// reopened offline (under a new client id) still knows that its earlier edits are not stored yet.
//
// A transaction that only deletes (clearing a field, erasing text) does not move any clock, so a state
// vector cannot show it stored. It counts as confirmed by the first "saved" received after it was sent,
// except the answer to sync step 1, which the server sends before it has our sync step 2. That is close
// but not exact: a commit already under way when the deletion was sent could confirm it early.
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'

export const MESSAGE_SAVED = 100

/**
 * One unconfirmed local transaction: its client id, the clock that client reached, and whether it only
 * deleted. In memory a deletion also has `after`: how many "saved" messages this connection had received
 * when it was sent.
 * @typedef {{ client: number, clock: number, deleteOnly?: boolean }} Pending
 */

/**
 * @typedef {{ state: 'connecting' }
 *   | { state: 'saving', count: number }
 *   | { state: 'saved', at: Date }
 *   | { state: 'offline', count: number }
 *   | { state: 'error', code: number, reason: string, count: number }} SaveState
 */

/**
 * Follow `provider`'s save state; `onChange(state)` runs now and whenever the state changes.
 * @param {import('y-websocket').WebsocketProvider} provider
 * @param {{ pending?: Pending[], onPending?: (pending: Pending[]) => void }} options
 *   the unconfirmed edits kept from earlier visits, and where to keep the list when it changes
 * @param {(state: SaveState) => void} onChange
 */
export function watchSaveState (provider, { pending: kept = [], onPending = () => {} }, onChange) {
  const doc = provider.doc
  /** @type {Array<Pending & { after?: number }>} */
  let pending = kept.map((entry) => ({ ...entry }))
  let stored = new Map() // the newest stored state vector
  let savedAt = null // when the server last confirmed our edits; null until it first has
  let savedMessages = 0 // "saved" messages on the current connection; the first answers sync step 1
  let everConnected = false
  let offline = !navigator.onLine
  /** @type {{ code: number, reason: string } | null} */
  let refused = null

  /** @returns {SaveState} */
  const current = () => {
    if (refused) return { state: 'error', ...refused, count: pending.length }
    if (!provider.wsconnected) {
      return everConnected || offline ? { state: 'offline', count: pending.length } : { state: 'connecting' }
    }
    if (pending.length > 0) return { state: 'saving', count: pending.length }
    // Connected but not yet told what is stored: say nothing reassuring until the server has.
    return savedAt === null ? { state: 'connecting' } : { state: 'saved', at: savedAt }
  }

  let last = null
  const update = () => {
    const next = current()
    // The document changes on every keystroke; only re-render when what is shown changes.
    if (last && JSON.stringify(last) === JSON.stringify(next)) return
    last = next
    onChange(next)
  }

  const keep = () => onPending(pending.map(({ after, ...entry }) => entry))
  const confirm = () => {
    const before = pending.length
    pending = pending.filter((entry) => entry.deleteOnly
      ? !(provider.wsconnected && entry.after !== undefined && savedMessages > Math.max(entry.after, 1))
      : (stored.get(entry.client) ?? 0) < entry.clock)
    if (pending.length !== before) keep()
    if (before > 0 && pending.length === 0) savedAt = new Date()
  }

  const onUpdate = (_update, _origin, _doc, transaction) => {
    // Remote updates (from the server, from IndexedDB) are not ours to confirm.
    if (!transaction.local) return
    const client = doc.clientID
    const clock = Y.getState(doc.store, client)
    const deleteOnly = (transaction.beforeState.get(client) ?? 0) === clock
    const entry = deleteOnly ? { client, clock, deleteOnly } : { client, clock }
    if (deleteOnly && provider.wsconnected) entry.after = savedMessages
    pending.push(entry)
    keep()
    update()
  }

  // A y-websocket message handler: reads its payload from `decoder`. It must not write to `encoder`
  // (anything written there is sent back to the server as a reply).
  provider.messageHandlers[MESSAGE_SAVED] = (_encoder, decoder) => {
    stored = Y.decodeStateVector(decoding.readVarUint8Array(decoder))
    savedMessages++
    if (savedAt === null) savedAt = new Date() // the first word from the server: all it has is stored
    confirm()
    update()
  }

  const onStatus = ({ status }) => {
    if (status === 'connecting') refused = null // the user asked to retry
    if (status === 'connected') {
      everConnected = true
      savedMessages = 0
      // Deletions made offline travel in this connection's sync step 2: wait for a commit after it.
      for (const entry of pending) if (entry.deleteOnly) entry.after = 0
    }
    update()
  }
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
    unsaved: () => pending.length,
    stop () {
      provider.off('status', onStatus)
      provider.off('closed', onClosed)
      doc.off('update', onUpdate)
      window.removeEventListener('online', onNetwork)
      window.removeEventListener('offline', onNetwork)
      delete provider.messageHandlers[MESSAGE_SAVED]
    }
  }
}

const twoDigits = (n) => String(n).padStart(2, '0')
const changes = (count) => count === 1 ? '1 change' : `${count} changes`

/** The words shown for a save state. */
export function describeSaveState (saveState) {
  switch (saveState.state) {
    case 'connecting': return 'Connecting…'
    case 'saving': return 'Saving…'
    case 'saved': return `Saved ✓ · ${twoDigits(saveState.at.getHours())}:${twoDigits(saveState.at.getMinutes())}`
    case 'offline': return saveState.count === 0
      ? 'Offline — no unsaved changes'
      : `Offline — ${changes(saveState.count)} kept on this device`
    case 'error': return saveState.count === 0
      ? 'Disconnected'
      : `Not saved — ${changes(saveState.count)} kept on this device`
  }
}
