// Records made without a network. "New record" offline makes the record's id here (32 lowercase hex
// digits, like the server's), keeps the record on this device (local-store.js): its document with the
// first values (counted as edits not saved yet) and a pending create; then its page opens. The page
// (or outbox.js, when it is not open) sends the create (`POST /api/records` with the id, no values)
// until the server has the record; only then does the document connect, and everything it holds (the
// first values too) syncs as any offline edit.
//
// The create carries no values on purpose: the document's update carries them, so nothing is written
// twice (two concurrent first writes of a field would be a conflict). Sent again after an answer that
// was lost, the create answers with the record the first attempt made: the record is made once.
import * as Y from 'yjs'
import * as api from './api.js'
import { keepNew } from './local-store.js'

const FIRST_RETRY_MS = 1000
const LAST_RETRY_MS = 30_000

/**
 * A record id from 16 random bytes, as the server makes them (uuid4, hex without dashes).
 * @param {Uint8Array} bytes
 */
export function recordIdFrom (bytes) {
  const id = Uint8Array.from(bytes.subarray(0, 16))
  id[6] = (id[6] & 0x0f) | 0x40 // version 4
  id[8] = (id[8] & 0x3f) | 0x80 // the RFC 4122 variant
  return Array.from(id, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

/** A fresh record id. */
export const newRecordId = () => recordIdFrom(crypto.getRandomValues(new Uint8Array(16)))

/** How long to wait before the `attempt`th retry (0-based): doubling, up to LAST_RETRY_MS. @param {number} attempt */
export const retryDelay = (attempt) => Math.min(FIRST_RETRY_MS * 2 ** attempt, LAST_RETRY_MS)

/**
 * Make a record on this device; resolves with its id once it is kept, ready for its page to open.
 * @param {import('./types.js').User} user
 * @param {import('./types.js').Collection} collection
 * @param {Record<string, unknown>} fields its first values
 * @param {string} title what the list of records on this device calls it
 * @param {string} [id] the id of a create that was sent but not answered (it may exist on the server
 *   already, with the same first values: the document writing them again changes nothing)
 */
export async function createOffline (user, collection, fields, title, id = newRecordId()) {
  const now = new Date().toISOString()
  const me = { id: user.id, name: user.name, email: user.email }
  const record = { id, collection: collection.name, created_at: now, created_by: me, updated_at: now, updated_by: me }
  await keepNew(user, { record, collection, title }, { collection: collection.name },
    (doc) => writeFirstValues(doc, collection, fields))
  return id
}

/**
 * Write a new record's first values into its document; returns them as edits to confirm (save-state.js),
 * one per field.
 * @param {Y.Doc} doc
 * @param {import('./types.js').Collection} collection
 * @param {Record<string, unknown>} values
 * @returns {import('./pending-edits.js').Pending[]}
 */
export function writeFirstValues (doc, collection, values) {
  const fields = doc.getMap('fields')
  const types = new Map(collection.fields.map((spec) => [spec.key, spec.type]))
  const written = Object.keys(values).filter((key) => types.has(key) && values[key] !== null && values[key] !== undefined)
  doc.transact(() => {
    for (const key of written) {
      fields.set(key, types.get(key) === 'richtext' ? new Y.Text(String(values[key])) : values[key])
    }
  })
  const client = doc.clientID
  const clock = Y.getState(doc.store, client)
  return written.map((field) => ({ client, clock, field }))
}

/**
 * Send the create of a record made offline until the server has it, then `onCreated()` (once). Waits
 * for the browser to be online; retries with back-off when no answer came (the answer may be lost even
 * though the record was made: sending it again is safe) or the server is unavailable; any other answer
 * (the role no longer allows creating, the id is taken) is `onRefused(error)`.
 * @param {string} id
 * @param {string} collection
 * @param {AbortSignal} signal stops the attempts (the page closed)
 * @param {{onCreated: () => void, onRefused: (error: api.ApiError) => void}} callbacks
 */
export function sendCreate (id, collection, signal, { onCreated, onRefused }) {
  let retries = 0
  let sending = false
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer
  const attempt = async () => {
    clearTimeout(timer)
    if (sending || signal.aborted || !navigator.onLine) return // back online: `online` calls again
    sending = true
    try {
      await api.createRecordWithId(id, collection)
    } catch (error) {
      if (signal.aborted) return
      if (error.offline || error.status >= 500 || error.status === 429) {
        timer = setTimeout(attempt, retryDelay(retries++))
      } else {
        stop()
        onRefused(error)
      }
      return
    } finally {
      sending = false
    }
    if (signal.aborted) return
    stop()
    onCreated()
  }
  const stop = () => {
    clearTimeout(timer)
    window.removeEventListener('online', attempt)
  }
  window.addEventListener('online', attempt)
  signal.addEventListener('abort', stop, { once: true })
  attempt()
}
