// Records kept on this device. Each record's Y.Doc lives in its own IndexedDB database (y-indexeddb),
// named `collab:<tenant>:<user id>:<record id>`: a user only ever opens their own, and signing out
// deletes exactly them. Next to the document, y-indexeddb's `custom` store holds what is needed to
// open the record without the server: its collection's fields, its metadata, and the local edits the
// server has not confirmed yet.
import * as idb from 'lib0/indexeddb'
import { IndexeddbPersistence } from 'y-indexeddb'

const CUSTOM_STORE = 'custom'
const KEY_RECORD = 'record' // {record: GET /api/records/ID without fields, collection, title}
const KEY_SYNCED = 'synced' // true once the document has synced with the server at least once
const KEY_PENDING = 'pending' // the save state's unconfirmed edits (save-state.js)

/**
 * Whose records: the signed-in user.
 * @typedef {{id: string, tenant: string}} Owner
 */
/**
 * What is kept next to a record's document to open it offline: the record without its fields, its
 * collection, and its title for the list of records kept here.
 * @typedef {{record: import('./types.js').RecordMeta, collection: import('./types.js').Collection, title: string}} Kept
 */

/** @param {Owner} user */
const userPrefix = (user) => `collab:${user.tenant}:${user.id}:`
/** @param {Owner} user @param {string} recordId */
export const localName = (user, recordId) => userPrefix(user) + recordId

/** Persistences in use, closed before signing out deletes their databases. */
const inUse = new Set()

/**
 * Keep `doc` in this device's copy of the record; resolves once the kept state has been loaded into it.
 * @param {Owner} user
 * @param {string} recordId
 * @param {import('yjs').Doc} doc
 */
export async function keepLocally (user, recordId, doc) {
  const persistence = new IndexeddbPersistence(localName(user, recordId), doc)
  inUse.add(persistence)
  await persistence.whenSynced
  const [saved, synced, pending] = await Promise.all(
    [KEY_RECORD, KEY_SYNCED, KEY_PENDING].map((key) => persistence.get(key)))
  // A late write (a reply that arrives after the view closed, or after signing out deleted the
  // database) has nowhere to go and is dropped.
  /** @param {string} key @returns {(value: any) => Promise<unknown>} */
  const remember = (key) => (value) => inUse.has(persistence) ? persistence.set(key, value) : Promise.resolve()
  return {
    /** What the record looked like when last opened online, or undefined. */
    saved: /** @type {Kept | undefined} */ (saved),
    /** Whether the kept document holds the server's state (else it may be empty: don't edit it). */
    synced: synced === true,
    pending: Array.isArray(pending) ? pending : [],
    rememberRecord: remember(KEY_RECORD),
    rememberSynced: () => remember(KEY_SYNCED)(true),
    rememberPending: remember(KEY_PENDING),
    async close () {
      inUse.delete(persistence)
      await persistence.destroy()
    }
  }
}

/** @param {Owner} user @returns {Promise<string[]>} */
async function userDatabases (user) {
  const prefix = userPrefix(user)
  return (await indexedDB.databases()).map((db) => db.name ?? '').filter((name) => name.startsWith(prefix))
}

/**
 * The records this user has on this device, with how many of their edits await the server.
 * @param {Owner} user
 * @returns {Promise<Array<{id: string, title: string, collection: string, unsaved: number}>>}
 */
export async function keptRecords (user) {
  const prefix = userPrefix(user)
  const kept = []
  for (const name of await userDatabases(user)) {
    // Open without a version to read the database as y-indexeddb made it. If it was deleted since it
    // was listed, opening creates an empty one: delete that again.
    let created = false
    const db = await idb.openDB(name, () => { created = true })
    try {
      if (created || !db.objectStoreNames.contains(CUSTOM_STORE)) continue
      const [custom] = idb.transact(db, [CUSTOM_STORE], 'readonly')
      const [found, pending] = await Promise.all([idb.get(custom, KEY_RECORD), idb.get(custom, KEY_PENDING)])
      const saved = /** @type {Kept | undefined} */ (/** @type {unknown} */ (found))
      if (saved) {
        kept.push({
          id: name.slice(prefix.length),
          title: saved.title,
          collection: saved.collection.name,
          unsaved: Array.isArray(pending) ? pending.length : 0
        })
      }
    } finally {
      db.close()
      if (created) await idb.deleteDB(name)
    }
  }
  return kept
}

/**
 * How many edits of this user, on any record, this device holds that the server has not confirmed.
 * @param {Owner} user
 */
export async function unsavedEdits (user) {
  return (await keptRecords(user)).reduce((sum, record) => sum + record.unsaved, 0)
}

/**
 * Delete everything this user kept on this device, closing the records open in this tab first.
 * @param {Owner} user
 */
export async function forget (user) {
  await Promise.all([...inUse].map((persistence) => persistence.destroy()))
  inUse.clear()
  await Promise.all((await userDatabases(user)).map((name) => idb.deleteDB(name)))
}
