// Saving one table cell: what the person typed, checked here, then `PATCH /api/records/ID` with the ETag of
// the record as read just before, only if the value is still the one the cell showed when the edit began.
// Someone else's change meanwhile is never overwritten silently: it is said in the cell (like a 412), with
// the typed value kept to try again. The words follow the record page's (save-status.js).
import * as api from './api.js'
import { describeSaveState } from './save-status.js'
import { cellKey } from './table-cells.js'
import { parseInput, refusal, valueText } from './cell-values.js'
import { nameOf } from './wording.js'

/** @typedef {import('./types.js').RecordData} RecordData */
/** @typedef {import('./types.js').FieldSpec} FieldSpec */

/** How long a cell says "Saved". */
const SAVED_SHOWN_MS = 4000

/** The field values equal as stored (numbers, strings, booleans, null; else by JSON). @param {unknown} a @param {unknown} b */
const same = (a, b) => (a ?? null) === (b ?? null) || JSON.stringify(a ?? null) === JSON.stringify(b ?? null)

/**
 * Save `typed` (or a checkbox's new state) into `spec`'s field of `record`, whose cell showed `shown`
 * when the edit began.
 * @param {RecordData} record @param {FieldSpec} spec @param {string | boolean} typed @param {unknown} shown
 * @returns {Promise<{ ok: true, record: RecordData } | { ok: false, message: string }>}
 */
export async function saveCell (record, spec, typed, shown) {
  const parsed = typeof typed === 'boolean' ? { value: typed } : parseInput(spec, typed)
  if ('problem' in parsed) return { ok: false, message: `Not saved: ${parsed.problem}` }
  try {
    const { data: current, etag } = await api.getTaggedRecord(record.id)
    // Lists carry texts shortened to SUMMARY_TEXT_CHARS: compare what the cell could show.
    const shortened = typeof shown === 'string' && shown.endsWith('…')
    if (!shortened && !same(current.fields[spec.key], shown)) {
      const now = valueText(spec, current.fields[spec.key])
      const by = current.updated_by ? nameOf(current.updated_by, 'someone') : 'someone'
      return { ok: false, message: `Not saved: ${by} changed it meanwhile${now ? ` to “${now}”` : ''}. Try again` }
    }
    if (same(current.fields[spec.key], parsed.value)) return { ok: true, record: current }
    const { data } = await api.patchRecord(record.id, { [spec.key]: parsed.value }, etag ?? '*')
    return { ok: true, record: data }
  } catch (error) {
    return { ok: false, message: refusal(error, spec.key) }
  }
}

/**
 * The table's `onCommit`: save a cell, with its state in the cell ("Saving…", "Saved", or why not, the
 * typed value kept) and in the page's save line; a saved record updates its row at once.
 * @param {{ table: import('./table-view.js').CollabTable, saveState: HTMLElement, signal: AbortSignal,
 *   draw: () => void, rows: () => import('./table-data.js').RowWindow }} page
 * @returns {(record: RecordData, column: import('./table-columns.js').Column, typed: string | boolean, shown: unknown) => Promise<void>}
 */
export const cellCommitter = ({ table, saveState, signal, draw, rows }) => async (record, column, typed, shown) => {
  const spec = column.spec
  if (!spec) return
  const key = cellKey(record.id, column.key)
  const text = typeof typed === 'string' ? typed : String(typed)
  table.cells.set(key, { state: 'saving', text, message: '' })
  saveState.textContent = describeSaveState({ state: 'saving', count: 1 })
  table.requestUpdate()
  const result = await saveCell(record, spec, typed, shown)
  if (signal.aborted) return
  if (result.ok) {
    const saved = result.record
    // Where it is: an edited row stays in place, whatever the view (table-data.js).
    rows().apply('record.updated', { record: saved.id, at: saved.updated_at, by: saved.updated_by, fields: saved.fields }, true)
    table.cells.set(key, { state: 'saved', text, message: '' })
    saveState.textContent = describeSaveState({ state: 'saved', at: new Date() })
    setTimeout(() => {
      if (table.cells.get(key)?.state !== 'saved') return
      table.cells.delete(key)
      table.requestUpdate()
    }, SAVED_SHOWN_MS)
  } else {
    table.cells.set(key, { state: 'error', text, message: result.message })
    saveState.textContent = result.message
  }
  draw()
}
