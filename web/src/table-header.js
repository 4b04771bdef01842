// A column header of <collab-table> (table-view.js): its label as a sort button when the list API can
// sort by it (aria-sort says how it is sorted), and a handle to resize it by dragging; Alt+Left/Right on
// the header's button resizes it from the keyboard. Widths go through the page (table-page.js), which
// remembers them (column-prefs.js).
import { html, nothing } from 'lit'
import { ACTIONS, DEFAULT_WIDTH } from './table-columns.js'

/** @typedef {import('./table-columns.js').Column} Column */
/** @typedef {import('./table-view.js').CollabTable} CollabTable */

const STEP_PX = 20

/** @param {CollabTable} host @param {Column} column */
const widthOf = (host, column) => host.prefs.widths[column.key] ?? column.width ?? DEFAULT_WIDTH

/**
 * @param {CollabTable} host @param {Column} column @param {false | 'asc' | 'desc'} sorted how TanStack
 *   Table has the column sorted @param {number} col its index among the visible columns
 */
export function headerCell (host, column, sorted, col) {
  const ariaSort = sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : 'none'
  const label = column.key === ACTIONS ? html`<span class="visually-hidden">Actions</span>` : column.sortKey
    ? html`<button type="button" class="sort" data-testid=${`sort-${column.key}`} title="Sort; Alt+←/→ resizes"
        @click=${() => host.onSort(/** @type {string} */ (column.sortKey))} @keydown=${(/** @type {KeyboardEvent} */ e) => resizeByKey(host, e, column)}>
        ${column.label}<span aria-hidden="true">${sorted === 'asc' ? ' ▲' : sorted === 'desc' ? ' ▼' : ''}</span></button>`
    : html`<span class="label">${column.label}</span>`
  const handle = column.key === ACTIONS ? nothing : html`<span class="resize" role="separator" aria-orientation="vertical"
    aria-label=${`Resize ${column.label}`} @pointerdown=${(/** @type {PointerEvent} */ e) => startResize(host, e, column)}></span>`
  return html`<div role="columnheader" class="cell head" aria-colindex=${col + 1} aria-sort=${column.sortKey ? ariaSort : nothing}
    data-testid=${`column-${column.key}`}>${label}${handle}</div>`
}

/** Drag the handle: the column follows the pointer. @param {CollabTable} host @param {PointerEvent} event @param {Column} column */
function startResize (host, event, column) {
  event.preventDefault()
  const startX = event.clientX
  const startWidth = widthOf(host, column)
  /** @param {PointerEvent} move */
  const onMove = (move) => host.onResize(column.key, startWidth + move.clientX - startX)
  const onUp = () => {
    window.removeEventListener('pointermove', onMove)
    window.removeEventListener('pointerup', onUp)
  }
  window.addEventListener('pointermove', onMove)
  window.addEventListener('pointerup', onUp)
}

/** Alt+Left/Right: narrower or wider. @param {CollabTable} host @param {KeyboardEvent} event @param {Column} column */
function resizeByKey (host, event, column) {
  if (!event.altKey || (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight')) return
  event.preventDefault()
  host.onResize(column.key, widthOf(host, column) + (event.key === 'ArrowLeft' ? -STEP_PX : STEP_PX))
}
