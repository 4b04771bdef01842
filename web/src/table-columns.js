// A collection's table columns from its schema, and how each field type's value shows in a cell.
//
// Every value is put on the page as text (Lit text bindings, `textContent`), never as HTML; rich text is
// rendered by markdown.js, which sanitises. Archived fields have no column (their values are kept).
import { nothing } from 'lit'
import { valueText } from './cell-values.js'
import { renderValue } from './field-view.js'
import { renderMarkdown } from './markdown.js'
import { kindOf } from './table-filters.js'

/** @typedef {import('./types.js').FieldSpec} FieldSpec */

/**
 * One column: a field's, the record's title (a link to it, its conflict marker and who has it open), its
 * "Updated" (who and when) or its actions. `sortKey` is what the list API sorts by (null: not sortable);
 * `editable` whether the cell is edited in place (other types open the record); `width` its default.
 * @typedef {{ key: string, label: string, spec: FieldSpec | null, sortKey: string | null, editable: boolean,
 *   width?: number }} Column
 */

/** The first column: the record's title, linking to it. Always shown. */
export const TITLE = '_title'
/** The column that says who changed the record last, and when. */
export const UPDATED = '_updated'
/** The last column, for editors: Delete. Always shown to them. */
export const ACTIONS = '_actions'
/** Types a cell edits in place; the others open the record's page. */
export const EDITABLE = new Set(['text', 'number', 'select', 'boolean', 'date', 'decimal', 'email', 'url', 'phone'])
export const DEFAULT_WIDTH = 180

/**
 * The columns of a collection: its title, its fields but the title and the archived ones in the schema's
 * order, "Updated", and the actions. Only the fields and "Updated" can be hidden and moved.
 * @param {FieldSpec[]} specs
 * @param {string | null} titleKey the field that names a record (fields.js titleField), if any
 * @returns {Column[]}
 */
export function columnsOf (specs, titleKey) {
  const titleSpec = specs.find((spec) => spec.key === titleKey) ?? null
  /** @type {Column[]} */
  const columns = [{
    key: TITLE,
    label: titleSpec?.label || 'Record',
    spec: titleSpec,
    sortKey: titleSpec && kindOf(titleSpec.type) ? titleSpec.key : null,
    editable: Boolean(titleSpec && EDITABLE.has(titleSpec.type)),
    width: 240
  }]
  for (const spec of specs) {
    if (spec.archived || spec.key === titleKey) continue
    columns.push({
      key: spec.key,
      label: spec.label || spec.key,
      spec,
      sortKey: kindOf(spec.type) ? spec.key : null,
      editable: EDITABLE.has(spec.type),
      width: spec.type === 'boolean' ? 110 : DEFAULT_WIDTH
    })
  }
  columns.push({ key: UPDATED, label: 'Updated', spec: null, sortKey: 'updated_at', editable: false, width: 240 })
  columns.push({ key: ACTIONS, label: 'Actions', spec: null, sortKey: null, editable: false, width: 100 })
  return columns
}

/** The columns a person may hide and move. @param {Column[]} columns */
export const movable = (columns) => columns.filter((column) => column.key !== TITLE && column.key !== ACTIONS)

/** Types field-view.js draws (links, chips, people); the others are text here. */
const RICH = new Set(['email', 'url', 'phone', 'multiselect', 'decimal', 'person', 'link'])
/** Drawn nodes by record object and field: a record edited is a new object, so this never goes stale,
 * and scrolling does not redraw (nor look up linked titles) again. */
/** @type {WeakMap<object, Map<string, Node>>} */
const drawn = new WeakMap()

/**
 * What a field's cell shows.
 * @param {FieldSpec} spec @param {unknown} value @param {object} record the row's record object (the cache key)
 */
export function cellContent (spec, value, record) {
  const rich = spec.type === 'richtext' && typeof value === 'string' && value
  if (!rich && !RICH.has(spec.type)) {
    const text = valueText(spec, value)
    return text ? text : nothing
  }
  let nodes = drawn.get(record)
  if (!nodes) drawn.set(record, nodes = new Map())
  let node = nodes.get(spec.key)
  if (!node) {
    node = rich ? renderMarkdown(/** @type {string} */ (value)) : renderValue(spec, value)
    if (rich) {
      const block = document.createElement('div')
      block.className = 'markdown cell-markdown'
      block.append(node)
      node = block
    }
    for (const link of /** @type {Element} */ (node).querySelectorAll?.('a') ?? []) link.setAttribute('tabindex', '-1')
    if (node instanceof HTMLAnchorElement) node.setAttribute('tabindex', '-1')
    nodes.set(spec.key, node)
  }
  return node
}
