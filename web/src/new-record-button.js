// "New record" on a collection's table (editors): the record is made on the server with an id chosen here
// and opens at once; offline it is made on this device and sent once the server is back (offline-create.js).
import * as api from './api.js'
import { h } from './dom.js'
import { createOffline, newRecordId } from './offline-create.js'
import { recordHash } from './table-cells.js'

/**
 * @param {{
 *   me: import('./types.js').User,
 *   collection: import('./types.js').Collection,
 *   fields: Record<string, unknown>,
 *   title: string,
 *   signal: AbortSignal,
 *   fail: (what: string, error: any) => void
 * }} options the new record's first values and its title, and where a failure is said
 */
export function newRecordButton ({ me, collection, fields, title, signal, fail }) {
  const button = h('button', { type: 'button', 'data-testid': 'new-record' }, 'New record')
  button.addEventListener('click', async () => {
    button.disabled = true
    const id = newRecordId()
    try {
      const created = await api.createRecordWithId(id, collection.name, fields)
      location.hash = recordHash(created.id)
    } catch (error) {
      if (error.offline && !signal.aborted) { // made on this device, sent once the server is back
        location.hash = recordHash(await createOffline(me, collection, fields, title, id))
        return
      }
      fail('Could not create a record', error)
      button.disabled = false
    }
  })
  return button
}
