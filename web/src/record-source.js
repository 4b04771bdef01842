// Where a record page's record and collection come from: the server while online, this device's copy
// (local-store.js) when offline or when the record was made here and is not on the server yet.
import * as api from './api.js'
import { titleField } from './fields.js'

/** @typedef {import('./types.js').Collection} Collection */
/** @typedef {import('./types.js').RecordMeta} RecordMeta */
/** @typedef {Awaited<ReturnType<typeof import('./local-store.js').keepLocally>>} Local */

/**
 * The record's title, from the collection's first text field; `valueOf(key)` reads a field.
 * @param {Collection} collection
 * @param {(key: string) => unknown} valueOf
 */
export function titleOf (collection, valueOf) {
  const key = titleField(collection)
  const title = key ? valueOf(key) : null
  return typeof title === 'string' && title.trim() ? title : 'Untitled'
}

/**
 * The record and its collection: from the server (`fresh`), or from this device's copy when offline.
 * @param {string} recordId
 * @param {Local} local
 * @returns {Promise<{record: RecordMeta, collection: Collection, fresh?: boolean}>}
 */
export async function loadRecord (recordId, local) {
  // Made on this device and not on the server yet: this device's copy is the record.
  if (local.creating && local.saved) return local.saved
  try {
    const [record, collections] = await Promise.all([api.getRecord(recordId), api.listCollections()])
    const collection = collections.find((c) => c.name === record.collection)
    if (!collection) throw new Error(`unknown collection ${record.collection}`)
    return { record, collection, fresh: true }
  } catch (error) {
    // Offline, a copy is only good to edit if it ever held the server's state: an empty document would
    // race the stored values (two first writes of a rich-text field: one is lost).
    if (!error.offline || !local.saved || !local.synced) throw error
    return local.saved
  }
}
