// Records kept on this device. Each record's Y.Doc lives in its own IndexedDB database (y-indexeddb),
// named `collab:<tenant>:<user id>:<record id>`: a user only ever opens their own, and signing out
// deletes exactly them. Next to the document, y-indexeddb's `custom` store holds what is needed to
// open the record without the server: its collection's fields, its metadata, the local edits the
// server has not confirmed yet, and for a record made offline its pending create (offline-create.js).
//
// For a start without a network, localStorage keeps who last signed in here and the collections they
// saw (no credential: the session cookie stays HttpOnly); signing out or a session ending forgets them.
import * as idb from 'lib0/indexeddb'
import { IndexeddbPersistence } from 'y-indexeddb'
import * as Y from 'yjs'

const CUSTOM_STORE = 'custom'
const KEY_RECORD = 'record' // {record: GET /api/records/ID without fields, collection, title}
const KEY_SYNCED = 'synced' // true once the document has synced with the server at least once
const KEY_PENDING = 'pending' // the save state's unconfirmed edits (save-state.js)
const KEY_CREATE = 'create' // made offline, not created on the server yet: {collection}
const KEY_EPOCH = 'epoch' // the record's epoch on the server when the document last connected (a restore changes it)
const KEPT_USER = 'collab.user'

/**
 * Whose records: the signed-in user.
 * @typedef {{id: string, tenant: string}} Owner
 */
/**
 * What is kept next to a record's document to open it offline: the record without its fields, its
 * collection, and its title for the list of records kept here.
 * @typedef {{record: import('./types.js').RecordMeta, collection: import('./types.js').Collection, title: string}} Kept
 */
/**
 * A record made on this device that the server does not have yet: its collection's name.
 * @typedef {{collection: string}} PendingCreate
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
  const [saved, synced, pending, create, epoch] = await Promise.all(
    [KEY_RECORD, KEY_SYNCED, KEY_PENDING, KEY_CREATE, KEY_EPOCH].map((key) => persistence.get(key)))
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
    /** Made offline and not created on the server yet, or null. */
    creating: /** @type {PendingCreate | null} */ (create ?? null),
    /** The server's epoch of the record this document was synced in, or null (never connected with one). */
    epoch: typeof epoch === 'string' ? epoch : null,
    rememberRecord: remember(KEY_RECORD),
    rememberSynced: () => remember(KEY_SYNCED)(true),
    rememberPending: remember(KEY_PENDING),
    /** @param {string} epoch the one this document connects with now */
    rememberEpoch: (epoch) => remember(KEY_EPOCH)(epoch),
    /** @param {PendingCreate} value made here: to create on the server (keepNew) */
    rememberCreate: (value) => remember(KEY_CREATE)(value),
    /** The server has the record now. */
    created: () => inUse.has(persistence) ? persistence.del(KEY_CREATE) : Promise.resolve(),
    async close () {
      inUse.delete(persistence)
      await persistence.destroy()
    }
  }
}

/**
 * Delete this device's copy of one record (its document and everything kept with it); close it first.
 * @param {Owner} user
 * @param {string} recordId
 */
export const forgetRecord = (user, recordId) => idb.deleteDB(localName(user, recordId))

/** @param {Owner} user @returns {Promise<string[]>} */
async function userDatabases (user) {
  const prefix = userPrefix(user)
  return (await indexedDB.databases()).map((db) => db.name ?? '').filter((name) => name.startsWith(prefix))
}

/**
 * The records this user has on this device, with how many of their edits await the server.
 * @param {Owner} user
 * @returns {Promise<Array<{id: string, title: string, collection: string, unsaved: number, creating: boolean}>>}
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
      const [found, pending, create] = await Promise.all(
        [KEY_RECORD, KEY_PENDING, KEY_CREATE].map((key) => idb.get(custom, key)))
      const saved = /** @type {Kept | undefined} */ (/** @type {unknown} */ (found))
      if (saved) {
        kept.push({
          id: name.slice(prefix.length),
          title: saved.title,
          collection: saved.collection.name,
          unsaved: Array.isArray(pending) ? pending.length : 0,
          creating: create !== undefined
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
 * How many edits of this user, on any record, this device holds that the server has not confirmed (a
 * record not created on the server yet counts as one more).
 * @param {Owner} user
 */
export async function unsavedEdits (user) {
  return (await keptRecords(user)).reduce((sum, record) => sum + record.unsaved + (record.creating ? 1 : 0), 0)
}

/**
 * Keep a record made offline, so that its page opens from this device: its metadata, its collection,
 * the create to send, and its document as `fill` writes it (its first values), with those edits
 * counted as not saved yet.
 * @param {Owner} user
 * @param {Kept} kept
 * @param {PendingCreate} create
 * @param {(doc: Y.Doc) => import('./pending-edits.js').Pending[]} fill
 */
export async function keepNew (user, kept, create, fill) {
  const doc = new Y.Doc()
  const local = await keepLocally(user, kept.record.id, doc)
  try {
    // The document holds no server state to race: what it gets is the record's first content.
    await Promise.all([local.rememberRecord(kept), local.rememberSynced(), local.rememberPending(fill(doc)),
      local.rememberCreate(create)])
  } finally {
    await local.close()
    doc.destroy()
  }
}

/** @param {import('./types.js').User} user who signed in: remembered for a start without a network */
export const rememberUser = (user) => localStorage.setItem(KEPT_USER, JSON.stringify(user))

/** Who last signed in on this device (for a start without a network), or null. */
export function keptUser () {
  try {
    const user = JSON.parse(localStorage.getItem(KEPT_USER) ?? 'null')
    return user && typeof user.id === 'string' && typeof user.tenant === 'string'
      ? /** @type {import('./types.js').User} */ (user) : null
  } catch {
    return null // written by something else: as if nobody had signed in
  }
}

/** The session ended: a start without a network must not pretend otherwise. */
export const forgetUser = () => localStorage.removeItem(KEPT_USER)

/** @param {Owner} user */
const collectionsKey = (user) => `${userPrefix(user)}collections`

/**
 * @param {Owner} user
 * @param {import('./types.js').Collection[]} collections as the server listed them
 */
export const rememberCollections = (user, collections) =>
  localStorage.setItem(collectionsKey(user), JSON.stringify(collections))

/**
 * The collections the user last saw online, or an empty list.
 * @param {Owner} user
 * @returns {import('./types.js').Collection[]}
 */
export function keptCollections (user) {
  try {
    const collections = JSON.parse(localStorage.getItem(collectionsKey(user)) ?? '[]')
    return Array.isArray(collections) ? collections : []
  } catch {
    return []
  }
}

/**
 * Delete everything this user kept on this device, closing the records open in this tab first.
 * @param {Owner} user
 */
export async function forget (user) {
  await Promise.all([...inUse].map((persistence) => persistence.destroy()))
  inUse.clear()
  // The collections seen, and copies set aside for review after a restore (restored-copy.js).
  for (const key of Object.keys(localStorage)) if (key.startsWith(userPrefix(user))) localStorage.removeItem(key)
  forgetUser()
  await Promise.all((await userDatabases(user)).map((name) => idb.deleteDB(name)))
}
