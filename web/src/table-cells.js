// One body cell of <collab-table> (table-view.js): the title (a link to the record, its conflict marker,
// who has it open), "Updated" (who and when), the actions (Delete), or a field's value; while edited, its
// input; after an edit, the honest save state ("Saving…", "Saved", or what went wrong with the typed
// value kept, as the record page says it: save-status.js).
import { html, nothing } from 'lit'
import { ACTIONS, TITLE, UPDATED, cellContent } from './table-columns.js'
import { ago, timeProps } from './time.js'
import { nameOf } from './wording.js'

/** @typedef {import('./table-columns.js').Column} Column */
/** @typedef {import('./types.js').RecordData} RecordData */

/**
 * After an edit: `text` is what was typed (kept on error), `message` what the server or the check said.
 * @typedef {{ state: 'saving' | 'saved' | 'error', text: string, message: string }} CellState
 */

/** The keyboard a phone shows for a cell's input, by field type. @type {Record<string, string>} */
const INPUT_MODES = { number: 'decimal', decimal: 'decimal', email: 'email', url: 'url', phone: 'tel' }

/** A cell's key in the table's map of cell states. @param {string} id the record's @param {string} key the column's */
export const cellKey = (id, key) => `${id}\u0000${key}`

/** The address of a record's page. @param {string} id */
export const recordHash = (id) => `#/records/${encodeURIComponent(id)}`

/**
 * @param {import('./table-view.js').CollabTable} host
 * @param {{ record: RecordData, column: Column, row: number, col: number, tabindex: number,
 *   state: CellState | undefined, editing: { text: string } | null }} cell
 */
export function drawCell (host, { record, column, row, col, tabindex, state, editing }) {
  const attrs = { row, col, tabindex }
  if (editing && column.spec) return editingCell(host, column, record, attrs, editing)
  if (column.key === TITLE) return titleCell(host, column, record, attrs, state)
  if (column.key === UPDATED) {
    const { updated_at: at, updated_by: by } = record
    return gridCell(attrs, 'cell meta', html`<span class="record-meta" data-testid="record-meta">${at
      ? html`${by ? `updated by ${nameOf(by, 'someone')} · ` : 'updated · '}<time datetime=${timeProps(at).dateTime} title=${timeProps(at).title}>${ago(at)}</time>`
      : nothing}</span>`)
  }
  if (column.key === ACTIONS) {
    return gridCell(attrs, 'cell actions', html`<button type="button" class="secondary" tabindex="-1"
      aria-label=${`Delete ${host.titleOf(record)}`} @click=${() => host.onDelete(record)}>Delete</button>`)
  }
  const spec = /** @type {import('./types.js').FieldSpec} */ (column.spec)
  const shown = state?.state === 'error' ? state.text : cellContent(spec, record.fields[column.key], record)
  return gridCell(attrs, `cell ${spec.type}${state ? ` ${state.state}` : ''}`,
    html`<span class="value">${shown}</span>${status(state)}`, `cell-${column.key}`)
}

/**
 * @param {{ row: number, col: number, tabindex: number }} attrs @param {string} className
 * @param {unknown} content @param {string} [testId]
 */
const gridCell = ({ row, col, tabindex }, className, content, testId) =>
  html`<div role="gridcell" class=${className} aria-colindex=${col + 1} data-row=${row} data-col=${col}
    tabindex=${tabindex} data-testid=${testId ?? nothing}>${content}</div>`

/** What a cell says about its last edit. @param {CellState | undefined} state */
function status (state) {
  if (!state) return nothing
  const words = state.state === 'saving' ? 'Saving…' : state.state === 'saved' ? 'Saved' : state.message
  return html`<span class="cell-status" role=${state.state === 'error' ? 'alert' : 'status'} data-testid="cell-status">${words}</span>`
}

/**
 * @param {import('./table-view.js').CollabTable} host @param {Column} column @param {RecordData} record
 * @param {{ row: number, col: number, tabindex: number }} attrs @param {CellState | undefined} state
 */
function titleCell (host, column, record, attrs, state) {
  const title = state?.state === 'error' ? state.text : host.titleOf(record)
  const open = record.open_conflicts ?? 0
  const avatars = host.presence.get(record.id) ?? []
  return gridCell(attrs, `cell title${state ? ` ${state.state}` : ''}`, html`
    <a href=${recordHash(record.id)} tabindex="-1">${title}</a>
    ${open ? html`<span class="conflict-badge" data-testid="record-conflicts" title=${open === 1
      ? 'A value was replaced by a concurrent edit: open the record to settle it'
      : `${open} values were replaced by concurrent edits: open the record to settle them`}>⚠ conflict</span>` : nothing}
    <ul class="avatars here" aria-label="Open now by" data-testid="record-presence">${avatars}</ul>
    ${status(state)}`, column.spec ? `cell-${column.spec.key}` : undefined)
}

/**
 * The cell's input: Enter or Tab saves, Escape leaves it unchanged; a click elsewhere saves.
 * @param {import('./table-view.js').CollabTable} host @param {Column} column @param {RecordData} record
 * @param {{ row: number, col: number, tabindex: number }} attrs @param {{ text: string }} editing
 */
function editingCell (host, column, record, attrs, editing) {
  const spec = /** @type {import('./types.js').FieldSpec} */ (column.spec)
  const start = editing.text // fixed for the edit: a live update of the row never overwrites typing
  const label = `${spec.label} of ${host.titleOf(record)}`
  let done = false
  /** @param {Event} event @param {boolean} save */
  const finish = (event, save) => {
    if (done) return
    done = true
    host.stopEdit(save, /** @type {HTMLInputElement} */ (event.target).value)
  }
  /** @param {KeyboardEvent} event */
  const onKey = (event) => {
    if (event.key === 'Escape') {
      event.preventDefault()
      finish(event, false)
    } else if (event.key === 'Enter' || event.key === 'Tab') {
      event.preventDefault()
      finish(event, true)
    }
  }
  const control = spec.type === 'select'
    ? html`<select class="cell-editor" aria-label=${label} @keydown=${onKey} @blur=${(/** @type {Event} */ e) => finish(e, true)}>
        <option value="" ?selected=${start === ''}>—</option>
        ${(spec.options ?? []).map((option) => html`<option value=${option} ?selected=${option === start}>${option}</option>`)}
      </select>`
    : html`<input class="cell-editor" aria-label=${label} type=${spec.type === 'date' ? 'date' : 'text'}
        inputmode=${INPUT_MODES[spec.type] ?? nothing} .value=${start}
        @keydown=${onKey} @blur=${(/** @type {Event} */ e) => finish(e, true)}>`
  return gridCell(attrs, 'cell editing', control, 'cell-editor')
}
