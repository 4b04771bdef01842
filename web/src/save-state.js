// Whether this tab's edits are durably stored, from collab's "saved" message (type 100).
//
// After each commit that holds a connection's updates (and once right after the initial sync) the
// server sends the encoded state vector of what is stored. This tab's edits are all stored when that
// vector's clock for our client id has caught up with our own clock. Nothing else counts as saved: an
// update sent on the socket may still be lost if the server dies before committing it.
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'

export const MESSAGE_SAVED = 100

/**
 * @typedef {{ state: 'connecting' | 'offline' | 'saving' } | { state: 'saved', at: Date }} SaveState
 */

/**
 * Follow `provider`'s save state; `onChange(state)` runs now and on every change.
 * @param {import('y-websocket').WebsocketProvider} provider
 * @param {(state: SaveState) => void} onChange
 * @returns {{ current: () => SaveState, unsaved: () => boolean, stop: () => void }}
 */
export function watchSaveState (provider, onChange) {
  const doc = provider.doc
  let storedClock = 0 // our client's clock in the newest stored state vector
  let savedAt = null // when the server last confirmed our edits; null until it first has
  let everConnected = false

  const ownClock = () => Y.getState(doc.store, doc.clientID)
  const unsaved = () => ownClock() > storedClock

  /** @returns {SaveState} */
  const current = () => {
    if (!provider.wsconnected) return { state: everConnected ? 'offline' : 'connecting' }
    // Connected but not yet told what is stored: say nothing reassuring until the server has.
    if (savedAt === null) return { state: 'connecting' }
    return unsaved() ? { state: 'saving' } : { state: 'saved', at: savedAt }
  }

  let last = null
  const update = () => {
    const next = current()
    // The document changes on every keystroke; only re-render when the state itself changes.
    if (last && last.state === next.state && last.at === next.at) return
    last = next
    onChange(next)
  }

  // A y-websocket message handler: reads its payload from `decoder`. It must not write to `encoder`
  // (anything written there is sent back to the server as a reply).
  provider.messageHandlers[MESSAGE_SAVED] = (_encoder, decoder) => {
    const stored = Y.decodeStateVector(decoding.readVarUint8Array(decoder))
    const clock = stored.get(doc.clientID) ?? 0
    // The first confirmation, or one that stores more of ours, moves the "saved at" time; a repeat
    // (e.g. after a reconnect with nothing new) keeps it.
    if (savedAt === null || clock > storedClock) savedAt = new Date()
    storedClock = Math.max(storedClock, clock)
    update()
  }

  const onStatus = ({ status }) => {
    if (status === 'connected') everConnected = true
    update()
  }
  provider.on('status', onStatus)
  doc.on('update', update)
  update()

  return {
    current,
    unsaved,
    stop () {
      provider.off('status', onStatus)
      doc.off('update', update)
      delete provider.messageHandlers[MESSAGE_SAVED]
    }
  }
}

const twoDigits = (n) => String(n).padStart(2, '0')

/** The words shown for a save state. */
export function describeSaveState (saveState) {
  switch (saveState.state) {
    case 'connecting': return 'Connecting…'
    case 'offline': return 'Offline'
    case 'saving': return 'Saving…'
    case 'saved': return `Saved ✓ · ${twoDigits(saveState.at.getHours())}:${twoDigits(saveState.at.getMinutes())}`
  }
}
