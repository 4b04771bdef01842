// A collection's page (`#/c/NAME`): online, its table (table-page.js, loaded on demand so the record page
// never loads the table's libraries); offline, the records kept on this device, which can be opened and
// edited (kept-list.js).
import * as api from './api.js'
import { titleField } from './fields.js'
import { showKept } from './kept-list.js'
import { keptCollections, rememberCollections } from './local-store.js'
import { currentUser } from './session.js'
import { newRecordFields, tabTitle } from './workspace.js'

/** The address of a record's page. @param {string} id */
export const recordHash = (id) => `#/records/${encodeURIComponent(id)}`

/**
 * @param {HTMLElement} root
 * @param {{collection: string}} options the collection's name
 * @param {AbortSignal} signal
 */
export async function showRecords (root, { collection: name }, signal) {
  const me = /** @type {import('./types.js').User} */ (currentUser()) // this view is only shown signed in
  let collections, page
  try {
    // The table's code comes with the list, not after it.
    [collections, page] = await Promise.all([api.listCollections(), import('./table-page.js')])
  } catch (error) {
    if (!error.offline && !(error instanceof TypeError)) throw error
    // No network (or the table's code is not on this device): what is kept here.
    const kept = keptCollections(me).find((c) => c.name === name)
    document.title = tabTitle(kept?.label)
    await showKept(root, { collection: name, newRecord: kept ? newRecordFields(kept.label, titleField(kept)) : {} }, signal)
    return
  }
  if (signal.aborted) return
  const collection = collections.find((c) => c.name === name)
  if (!collection) throw new api.ApiError(404, null, 'Not found.') // the page says so, as for a record
  rememberCollections(me, collections) // for "New record" without a network (kept-list.js)
  document.title = tabTitle(collection.label)
  await page.showTable(root, { collection, me }, signal)
}
