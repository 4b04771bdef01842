// "Created by Ann on 3 Mar 2026 · Last updated by Bob 5 minutes ago", kept current while the record is
// open: re-read from the server shortly after the document stops changing, and re-worded every minute.
import * as api from './api.js'
import { h } from './dom.js'
import { ago, onDate, timeProps } from './time.js'
import { nameOf } from './wording.js'

const REFRESH_AFTER_MS = 1000 // after the last change: the server has committed it by then
const REWORD_EVERY_MS = 60_000

/**
 * @param {import('./types.js').RecordMeta} record
 * @param {{doc: import('yjs').Doc, online: () => boolean, onRecord: (record: import('./types.js').RecordData) => void}} options
 *   the record's document, whether the server can be asked now, and who wants each fresh copy
 */
export function whoAndWhen (record, { doc, online, onRecord }) {
  const element = h('p', { class: 'who-when', 'data-testid': 'who-when' })
  let current = record

  const render = () => {
    const created = current.created_by ? `Created by ${nameOf(current.created_by, 'someone')} on ` : 'Created on '
    const updated = current.updated_by ? `Last updated by ${nameOf(current.updated_by, 'someone')} ` : 'Last updated '
    element.replaceChildren(
      created, h('time', timeProps(current.created_at), onDate(current.created_at)),
      ' · ', updated, h('time', timeProps(current.updated_at), ago(current.updated_at)))
  }

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer
  const refresh = async () => {
    timer = undefined
    if (!online()) return
    try {
      const fresh = await api.getRecord(record.id)
      current = fresh
      onRecord(fresh)
      render()
    } catch {
      // The line stays as it was. Offline there is nothing newer; a revoked session (401) is handled
      // by the app, and a deleted record closes the document's socket, which says so.
    }
  }
  const onUpdate = () => {
    clearTimeout(timer)
    timer = setTimeout(refresh, REFRESH_AFTER_MS)
  }
  const reword = setInterval(render, REWORD_EVERY_MS)

  doc.on('update', onUpdate)
  render()
  return {
    element,
    stop () {
      doc.off('update', onUpdate)
      clearTimeout(timer)
      clearInterval(reword)
    }
  }
}
