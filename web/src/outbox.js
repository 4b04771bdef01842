// Records made offline whose page is not open: sent from here once the network is back. Each is
// created on the server (offline-create.js `sendCreate`), then its document connects until the server
// has stored everything this device holds for it (its first values, any edits), and is closed again.
// The record's page does the same for the record it shows; both at once are harmless (the create is
// made once, the document merges).
import * as Y from 'yjs'
import { connectRecord } from './connection.js'
import { keepLocally, keptRecords } from './local-store.js'
import { sendCreate } from './offline-create.js'
import { watchSaveState } from './save-state.js'

/** Records being sent from here now, by id. */
const sending = new Set()

/**
 * Send every record this user made offline that is not being sent yet, except `skip` (the record whose
 * page is open: it sends its own).
 * @param {import('./types.js').User} user
 * @param {string | null} skip
 */
export async function sendMadeOffline (user, skip) {
  for (const record of await keptRecords(user)) {
    if (record.creating && record.id !== skip && !sending.has(record.id)) send(user, record.id)
  }
}

/** @param {import('./types.js').User} user @param {string} id */
async function send (user, id) {
  sending.add(id)
  const doc = new Y.Doc()
  const local = await keepLocally(user, id, doc)
  const done = new AbortController()
  const connection = connectRecord(id, doc, { held: true })
  // Nobody is on the record: say nothing of us in its presence.
  connection.provider.awareness.setLocalState(null)
  const saveState = watchSaveState(connection.provider, { pending: local.pending, onPending: local.rememberPending },
    (state) => { if (state.state === 'saved') done.abort() })
  done.signal.addEventListener('abort', () => {
    saveState.stop()
    connection.destroy()
    local.close().finally(() => {
      doc.destroy()
      sending.delete(id)
    })
  }, { once: true })
  if (!local.creating) {
    done.abort() // created meanwhile (by its page, another tab)
    return
  }
  sendCreate(id, local.creating.collection, done.signal, {
    onCreated: () => { local.created().finally(() => { if (!done.signal.aborted) connection.release() }) },
    // Its page says why when it is opened; the record stays on this device.
    onRefused: () => done.abort()
  })
}
