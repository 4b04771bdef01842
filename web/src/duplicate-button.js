// "Duplicate" on a record's page (editors): the server copies the record's values as they are now
// (`POST /api/records/<id>/duplicate`: unique fields left empty), and the copy opens at once.
import * as api from './api.js'
import { h } from './dom.js'
import { toast } from './toast.js'

/** @param {string} recordId */
export function duplicateButton (recordId) {
  const button = h('button', { type: 'button', class: 'secondary', 'data-testid': 'duplicate' }, 'Duplicate')
  button.addEventListener('click', async () => {
    button.disabled = true
    try {
      const copy = await api.duplicateRecord(recordId)
      location.hash = `#/records/${encodeURIComponent(copy.id)}`
    } catch (error) {
      toast(`Could not duplicate it: ${error instanceof Error ? error.message : String(error)}`)
    } finally {
      button.disabled = false
    }
  })
  return button
}
