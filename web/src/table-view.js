// <collab-table>: a collection's records as an ARIA grid. Lit renders it; TanStack Table holds the column
// model (order, visibility, widths, which one is sorted); TanStack Virtual draws only the rows in view, so
// 100,000 rows cost as much as 30. The rows themselves are a RowWindow (table-data.js) that the page
// (table-page.js) fills from the server as `range` says which rows are in view.
//
// Keyboard (the grid pattern): one cell is the Tab stop; arrows, Home/End, Page Up/Down and Ctrl+Home/End
// move it; Enter opens the record from its title cell, or edits an editable cell (so do F2 and typing a
// character into a text or number cell); Escape leaves editing; Enter or Tab in the input saves. Light
// DOM, so the app's stylesheet applies.
import { LitElement, html, nothing } from 'lit'
import { createRef, ref } from 'lit/directives/ref.js'
import { repeat } from 'lit/directives/repeat.js'
import { TableController, columnOrderingFeature, columnSizingFeature, columnVisibilityFeature, rowSortingFeature, tableFeatures } from '@tanstack/lit-table'
import { VirtualizerController } from '@tanstack/lit-virtual'
import { cellKey, drawCell } from './table-cells.js'
import { headerCell } from './table-header.js'
import { inputText } from './cell-values.js'
import { ACTIONS, DEFAULT_WIDTH, TITLE } from './table-columns.js'

/** @typedef {import('./table-columns.js').Column} Column */
/** @typedef {import('./types.js').RecordData} RecordData */
/** @typedef {{ index: number, record: RecordData | null }} Slot */
/** @typedef {import('./table-cells.js').CellState} CellState */

export const ROW_PX = 44
const features = tableFeatures({ columnOrderingFeature, columnSizingFeature, columnVisibilityFeature, rowSortingFeature })

export class CollabTable extends LitElement {
  static properties = { version: { type: Number } }

  constructor () {
    super()
    this.version = 0
    /** @type {Column[]} */
    this.columns = []
    /** @type {import('./table-data.js').RowWindow | null} */
    this.rows = null
    /** @type {import('./column-prefs.js').ColumnPrefs} */
    this.prefs = { order: [], hidden: [], widths: {} }
    /** @type {{ sort: string, order: 'asc' | 'desc' }} */
    this.sorting = { sort: 'created_at', order: 'desc' }
    this.canEdit = false
    this.emptyText = ''
    /** @type {(record: RecordData) => string} */
    this.titleOf = () => ''
    /** @type {Map<string, Node[]>} avatars of who has each record open */
    this.presence = new Map()
    /** @type {Map<string, CellState>} by `cellKey` */
    this.cells = new Map()
    /** @type {(first: number, last: number) => void} */
    this.onRange = () => {}
    /** @type {(sortKey: string) => void} */
    this.onSort = () => {}
    /** @type {(key: string, width: number) => void} */
    this.onResize = () => {}
    /** What was typed (or a checkbox's new state) into a cell that showed `shown`. */
    /** @type {(record: RecordData, column: Column, typed: string | boolean, shown: unknown) => void} */
    this.onCommit = () => {}
    /** @type {(record: RecordData) => void} */
    this.onDelete = () => {}
    /** @type {(record: RecordData) => void} */
    this.onOpen = () => {}
    this.active = { row: 0, col: 0 }
    /** @type {{ id: string, key: string, text: string, shown: unknown } | null} */
    this.editing = null
    /** @type {TableController<typeof features, Slot>} */
    this.table = new TableController(this)
    /** @type {import('lit/directives/ref.js').Ref<HTMLDivElement>} */
    this.scroller = createRef()
    /** @type {VirtualizerController<HTMLDivElement, Element>} */
    this.virtualizer = new VirtualizerController(this, {
      count: 0,
      getScrollElement: () => this.scroller.value ?? null,
      estimateSize: () => ROW_PX,
      overscan: 10
    })
    /** @type {Slot[]} */
    this.slots = []
    this.lastRange = ''
    /** @type {Column[] | null} */
    this.defsFor = null
    /** @type {any[]} */
    this.defs = []
  }

  createRenderRoot () { return this }

  /** The columns shown, in order: title first, then the person's choice, then the actions. */
  visibleColumns () {
    const byKey = new Map(this.columns.map((column) => [column.key, column]))
    const shown = this.prefs.order.filter((key) => !this.prefs.hidden.includes(key)).map((key) => byKey.get(key))
    return /** @type {Column[]} */ ([byKey.get(TITLE), ...shown, this.canEdit ? byKey.get(ACTIONS) : undefined].filter(Boolean))
  }

  render () {
    const rows = this.rows
    if (!rows) return nothing
    const virtualizer = this.virtualizer.getVirtualizer()
    if (virtualizer.options.count !== rows.total) virtualizer.setOptions({ ...virtualizer.options, count: rows.total })
    const items = virtualizer.getVirtualItems()
    this.slots = items.map((item) => ({ index: item.index, record: rows.rowAt(item.index) }))
    const columns = this.visibleColumns()
    const table = this.table.table({
      features,
      columns: this.columnDefs(),
      data: this.slots,
      getRowId: (slot) => slot.record?.id ?? `row-${slot.index}`,
      manualSorting: true,
      state: {
        columnOrder: columns.map((column) => column.key),
        columnVisibility: Object.fromEntries(this.columns.map((column) => [column.key, columns.includes(column)])),
        columnSizing: Object.fromEntries(this.columns.map((column) => [column.key, this.prefs.widths[column.key] ?? column.width ?? DEFAULT_WIDTH])),
        sorting: [{ id: this.columns.find((column) => column.sortKey === this.sorting.sort)?.key ?? this.sorting.sort, desc: this.sorting.order === 'desc' }]
      }
    })
    const leaves = table.getVisibleLeafColumns()
    const template = leaves.map((column) => `${column.getSize()}px`).join(' ')
    const width = leaves.reduce((sum, column) => sum + column.getSize(), 0)
    const byKey = new Map(this.columns.map((column) => [column.key, column]))
    this.active.col = Math.min(this.active.col, leaves.length - 1)
    this.active.row = Math.min(this.active.row, Math.max(0, rows.total - 1))
    return html`
      <div class="table-scroll" ${ref(this.scroller)} role="grid" aria-label="Records" aria-rowcount=${rows.total + 1}
        aria-colcount=${leaves.length} data-testid="record-list" @keydown=${this.onKey} @focusin=${this.onFocusIn}>
        <div role="rowgroup" class="table-head" style="width:${width}px">
          <div role="row" aria-rowindex="1" class="table-row" style="grid-template-columns:${template}">
            ${leaves.map((leaf, col) => headerCell(this, /** @type {Column} */ (byKey.get(leaf.id)), leaf.getIsSorted(), col))}
          </div>
        </div>
        <div role="rowgroup" class="table-body" style="height:${virtualizer.getTotalSize()}px;width:${width}px">
          ${repeat(table.getRowModel().rows, (row) => row.id, (row, at) => {
            const slot = this.slots[at]
            const top = items[at]?.start ?? slot.index * ROW_PX
            if (!slot.record) {
              return html`<div role="row" aria-rowindex=${slot.index + 2} class="table-row placeholder" data-testid="record-placeholder"
                style="grid-template-columns:${template};transform:translateY(${top}px)">${leaves.map((leaf, col) =>
                  html`<div role="gridcell" class="cell" data-row=${slot.index} data-col=${col} tabindex=${this.tabStop(slot.index, col)}>…</div>`)}</div>`
            }
            const record = slot.record
            return html`<div role="row" aria-rowindex=${slot.index + 2} class="table-row" data-testid="record" data-id=${record.id}
              style="grid-template-columns:${template};transform:translateY(${top}px)">
              ${leaves.map((leaf, col) => this.bodyCell(record, /** @type {Column} */ (byKey.get(leaf.id)), slot.index, col))}
            </div>`
          })}
        </div>
        ${rows.total === 0 && this.emptyText ? html`<p class="table-empty" data-testid="table-empty">${this.emptyText}</p>` : nothing}
      </div>`
  }

  /** TanStack's column definitions, rebuilt only when the columns change (a new array). */
  columnDefs () {
    if (this.defsFor !== this.columns) {
      this.defsFor = this.columns
      this.defs = this.columns.map((column) => ({ id: column.key, header: column.label, accessorFn: (/** @type {Slot} */ slot) => slot.record?.fields[column.key] }))
    }
    return this.defs
  }

  /** @param {number} row @param {number} col */
  tabStop (row, col) { return this.active.row === row && this.active.col === col ? 0 : -1 }

  /** @param {RecordData} record @param {Column} column @param {number} row @param {number} col */
  bodyCell (record, column, row, col) {
    const key = cellKey(record.id, column.key)
    const editing = this.editing?.id === record.id && this.editing.key === column.key ? this.editing : null
    return drawCell(this, { record, column, row, col, tabindex: this.tabStop(row, col), state: this.cells.get(key), editing })
  }

  updated () {
    const items = this.virtualizer.getVirtualizer().getVirtualItems()
    if (!items.length) return
    const range = `${items[0].index}:${items[items.length - 1].index}`
    if (range === this.lastRange) return
    this.lastRange = range
    this.onRange(items[0].index, items[items.length - 1].index)
  }

  /** Move the Tab stop to a cell, scroll it into view and focus it. @param {number} row @param {number} col */
  async moveTo (row, col) {
    const total = this.rows?.total ?? 0
    this.active = { row: Math.max(0, Math.min(total - 1, row)), col: Math.max(0, Math.min(this.visibleColumns().length - 1, col)) }
    this.virtualizer.getVirtualizer().scrollToIndex(this.active.row, { align: 'auto' })
    this.requestUpdate()
    await this.updateComplete
    this.focusActive()
  }

  focusActive () {
    const cell = this.querySelector(`[data-row="${this.active.row}"][data-col="${this.active.col}"]`)
    if (cell instanceof HTMLElement) cell.focus({ preventScroll: true })
  }

  /** A cell focused by a click or by script becomes the Tab stop. @param {FocusEvent} event */
  onFocusIn = (event) => {
    const cell = /** @type {HTMLElement} */ (event.target).closest?.('[data-row]')
    if (!(cell instanceof HTMLElement)) return
    const row = Number(cell.dataset.row)
    const col = Number(cell.dataset.col)
    if (row === this.active.row && col === this.active.col) return
    this.active = { row, col }
    this.requestUpdate()
  }

  /** @param {KeyboardEvent} event */
  onKey = (event) => {
    const target = /** @type {HTMLElement} */ (event.target)
    if (target.closest('input, select')) return // the cell editor's own keys (table-cells.js)
    const cell = target.closest('[data-row]')
    if (!(cell instanceof HTMLElement)) return
    const row = Number(cell.dataset.row)
    const col = Number(cell.dataset.col)
    const page = Math.max(1, Math.floor((this.scroller.value?.clientHeight ?? ROW_PX * 10) / ROW_PX) - 1)
    /** @type {Record<string, () => void>} */
    const moves = {
      ArrowDown: () => this.moveTo(row + 1, col),
      ArrowUp: () => this.moveTo(row - 1, col),
      ArrowRight: () => this.moveTo(row, col + 1),
      ArrowLeft: () => this.moveTo(row, col - 1),
      PageDown: () => this.moveTo(row + page, col),
      PageUp: () => this.moveTo(row - page, col),
      Home: () => event.ctrlKey ? this.moveTo(0, 0) : this.moveTo(row, 0),
      End: () => event.ctrlKey ? this.moveTo(Infinity, col) : this.moveTo(row, Infinity),
      Enter: () => this.activate(row, col, cell),
      F2: () => this.activate(row, col, cell, true)
    }
    const move = moves[event.key]
    if (!move) return this.typeInto(event, row, col)
    event.preventDefault()
    move()
  }

  /**
   * Enter on a cell: open the record from its title, edit an editable cell, press a cell's button.
   * @param {number} row @param {number} col @param {HTMLElement} cell @param {boolean} [editOnly]
   */
  activate (row, col, cell, editOnly = false) {
    this.active = { row, col }
    const record = this.rows?.rowAt(row)
    const column = this.visibleColumns()[col]
    if (!record || !column) return
    if (column.key === ACTIONS) return cell.querySelector('button')?.click()
    if (column.key === TITLE && !editOnly) return this.onOpen(record)
    if (column.editable && this.canEdit) return this.startEdit(record, column)
    if (!editOnly) this.onOpen(record)
  }

  /**
   * A character typed on a text or number cell starts editing it with that character, as in a
   * spreadsheet. @param {KeyboardEvent} event @param {number} row @param {number} col
   */
  typeInto (event, row, col) {
    if (event.key.length !== 1 || event.ctrlKey || event.metaKey || event.altKey || !this.canEdit) return
    const record = this.rows?.rowAt(row)
    const column = this.visibleColumns()[col]
    if (!record || !column?.editable || !column.spec || !['text', 'number'].includes(column.spec.type)) return
    event.preventDefault()
    this.active = { row, col }
    this.startEdit(record, column, event.key)
  }

  /**
   * Edit a cell: its input starts from the value shown (or the text a failed save kept), and that value is
   * remembered, so a change someone makes meanwhile is noticed at saving rather than overwritten.
   * @param {RecordData} record @param {Column} column @param {string} [typed] the input's first character
   */
  startEdit (record, column, typed) {
    if (!column.spec) return
    const shown = record.fields[column.spec.key]
    if (column.spec.type === 'boolean') return this.onCommit(record, column, shown !== true, shown)
    const failed = this.cells.get(cellKey(record.id, column.key))
    const text = typed ?? (failed?.state === 'error' ? failed.text : inputText(column.spec, shown))
    this.editing = { id: record.id, key: column.key, text, shown }
    this.requestUpdate()
    this.updateComplete.then(() => {
      const input = this.querySelector('.cell-editor')
      if (input instanceof HTMLInputElement || input instanceof HTMLSelectElement) input.focus()
      if (input instanceof HTMLInputElement && input.type === 'text') input.setSelectionRange(text.length, text.length)
    })
  }

  /** Leave editing; `save` sends what was typed. @param {boolean} save @param {string} [text] */
  stopEdit (save, text) {
    const editing = this.editing
    if (!editing) return
    this.editing = null
    const at = this.rows?.find(editing.id)
    const record = at ? this.rows?.pages[at.page].records?.[at.offset] : null
    const column = this.columns.find((entry) => entry.key === editing.key)
    if (save && record && column && text !== undefined) this.onCommit(record, column, text, editing.shown)
    this.requestUpdate()
    this.updateComplete.then(() => this.focusActive())
  }
}

customElements.define('collab-table', CollabTable)
