// The live connection of one record's document to the server's room: a y-websocket provider that also
// follows the browser's own idea of being online, so going offline shows at once instead of after the
// provider's 30 s silence timeout, and coming back reconnects without waiting for its back-off.
import { WebsocketProvider } from 'y-websocket'
import { readAuthMessage } from 'y-protocols/auth'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { encodeAwarenessUpdate } from 'y-protocols/awareness'
import { conflictFields } from './conflict-notice.js'
import { MESSAGE } from './constants.js'
import { toast } from './toast.js'
import { describeNotice } from './wording.js'

/** `ws(s)://<this host>/ws`: the provider appends `/<record id>`. */
function socketBase () {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${location.host}/ws`
}

/** y-websocket's message type for awareness updates. */
const MESSAGE_AWARENESS = 1

/**
 * Send only our own awareness state. y-websocket also passes on every change it received about the
 * others, and the server takes the first connection to mention a client id as its owner: passing on the
 * removal of someone whose connection dropped would make that id ours, and their state would be refused
 * when they reconnect (they would never reappear). The server drops the others' states anyway.
 * @param {WebsocketProvider} provider
 */
function announceOnlyOurselves (provider) {
  const { awareness } = provider
  awareness.off('update', provider._awarenessUpdateHandler)
  /** @param {{ added: number[], updated: number[], removed: number[] }} changes */
  provider._awarenessUpdateHandler = ({ added, updated, removed }) => {
    const ours = awareness.clientID
    if (!added.includes(ours) && !updated.includes(ours) && !removed.includes(ours)) return
    const ws = provider.ws
    if (!provider.wsconnected || !ws || ws.readyState !== ws.OPEN) return
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, MESSAGE_AWARENESS)
    encoding.writeVarUint8Array(encoder, encodeAwarenessUpdate(awareness, [ours]))
    ws.send(encoding.toUint8Array(encoder))
  }
  awareness.on('update', provider._awarenessUpdateHandler)
}

/**
 * The provider also emits `permission-denied` (with the server's reason) when the server refuses our
 * changes: our role does not allow editing, or no longer does; and `conflicts` (with the fields) when the
 * record's open conflicts changed (a stored write replaced a concurrent value, or someone settled one);
 * and `corrected` (with `{key: reason}`) when the server put one of our values right (message 101).
 * `held`: a record made offline that the server does not have yet: no connection until `release()`.
 * `epoch`: the record's epoch the document was synced in (local-store.js); the server refuses the socket
 * with 4409 when the record was restored since, so that this copy is never merged back. Null: not named.
 * @param {string} recordId
 * @param {import('yjs').Doc} doc
 * @param {{held?: boolean, epoch?: string | null}} [options]
 * @returns {{provider: WebsocketProvider, retry: () => void, release: (epoch?: string) => void, destroy: () => void}}
 */
export function connectRecord (recordId, doc, { held = false, epoch = null } = {}) {
  // No token in the URL: the handshake carries the HttpOnly session cookie, which authenticates it.
  // disableBc: tabs of one browser must sync through the server, which checks each one's role and
  // confirms what it stored; a BroadcastChannel would bypass both.
  const provider = new WebsocketProvider(socketBase(), recordId, doc, {
    disableBc: true,
    connect: navigator.onLine && !held,
    params: epoch ? { epoch } : {}
  })
  announceOnlyOurselves(provider)
  // y-websocket's own handler only logs a warning; the server's reason is for the page to show, in an
  // event of ours (which y-websocket's event map does not list).
  /** @type {any} */ const events = provider
  provider.messageHandlers[MESSAGE.AUTH] = (_encoder, decoder) =>
    readAuthMessage(decoder, doc, (_doc, reason) => events.emit('permission-denied', [reason]))
  // collab's extension: the server put one of our edits right (a value that does not fit the field).
  provider.messageHandlers[MESSAGE.NOTICE] = (_encoder, decoder) => {
    let notice = null
    try { notice = JSON.parse(decoding.readVarString(decoder)) } catch { return }
    const conflicted = conflictFields(notice)
    if (conflicted) {
      events.emit('conflicts', [conflicted])
      return
    }
    const words = describeNotice(notice)
    if (!words) return
    toast(words)
    // The record page also shows each reason next to its field.
    events.emit('corrected', [/** @type {{fields: Record<string, string>}} */ (notice).fields])
  }
  // After a 44xx close the server has said that retrying cannot help: only the user's Retry does.
  let refused = false
  const onClosed = () => { refused = true }
  const onOffline = () => provider.disconnect()
  const onOnline = () => { if (!refused && !held) provider.connect() }

  provider.on('closed', onClosed)
  window.addEventListener('offline', onOffline)
  window.addEventListener('online', onOnline)
  return {
    provider,
    retry () {
      if (held) return
      refused = false
      // A stalled connection may still look open: start a fresh one (a no-op close when there is none).
      if (provider.ws) provider.disconnect()
      provider.connect()
    },
    /** @param {string} [epoch] the record's epoch on the server, now that it has the record */
    release (epoch) {
      if (!held) return
      held = false
      if (epoch) provider.params = { ...provider.params, epoch }
      if (navigator.onLine) provider.connect()
    },
    destroy () {
      window.removeEventListener('offline', onOffline)
      window.removeEventListener('online', onOnline)
      provider.off('closed', onClosed)
      provider.destroy()
    }
  }
}
