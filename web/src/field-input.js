// The controls of the field types beyond text, number, date, checkbox and select:
// - `email`, `url`, `phone` and `decimal` are typed into, so they are scalar controls (scalar-field.js:
//   undo, the editing prompt, the caret kept while others' values arrive). A value that does not pass the
//   same check as the server's (field-check.js) is "not a value yet": nothing is stored, and the field
//   says why (fields.js). A decimal is stored as the exact string typed (decimal.js), never a number.
// - `person` is a <select> of the tenant's people (person-picker.js).
// - `multiselect` (chips with ×, an "Add…" menu) and `link` (link-picker.js) hold lists: widgets bound by
//   `bindWidget`, each change replacing the whole list (last writer wins, like any scalar).
import { MAX_TEXT_CHARS } from './constants.js'
import { inputText, parseDecimal, scaleOf } from './decimal.js'
import { h } from './dom.js'
import { typedProblem } from './field-check.js'
import { personKind } from './person-picker.js'

/** @typedef {import('./types.js').FieldSpec} FieldSpec */
/** @typedef {import('./scalar-field.js').Scalar} Scalar */
/** @typedef {import('./link-picker.js').Widget} Widget */

/**
 * A checked text control: `type` sets the keyboard phones show (and `inputmode` for decimals).
 * @param {string} type the <input> type
 * @param {string} fieldType the field's type, for its check
 * @returns {Scalar}
 */
const checkedText = (type, fieldType) => ({
  create: () => h('input', { type, maxLength: MAX_TEXT_CHARS, autocomplete: 'off', spellcheck: false }),
  read: (input) => {
    const text = input.value.trim()
    if (text === '') return null
    return typedProblem({ key: '', label: '', type: fieldType }, text) ? undefined : text
  },
  render: (input, value) => { input.value = typeof value === 'string' ? value : '' },
  event: 'input',
  typing: true
})

/** @type {Record<string, Scalar>} */
export const CHECKED_SCALARS = {
  email: checkedText('email', 'email'),
  url: checkedText('url', 'url'),
  phone: checkedText('tel', 'phone'),
  decimal: {
    create: (spec) => h('input', { type: 'text', inputMode: 'decimal', autocomplete: 'off', 'data-scale': scaleOf(spec) }),
    read: (input) => {
      const parsed = parseDecimal(input.value, Number(input.dataset.scale))
      return parsed.problem ? undefined : parsed.value
    },
    render: (input, value) => { input.value = inputText(value, Number(input.dataset.scale)) },
    event: 'input',
    typing: true
  },
  person: personKind
}

/**
 * A multiselect's control: the chosen options as chips (× removes one), an "Add…" menu of the others.
 * @param {FieldSpec} spec
 * @param {(value: string[] | null) => void} onChange
 * @returns {Widget}
 */
export function multiselect (spec, onChange) {
  const options = spec.options ?? []
  let chosen = /** @type {string[]} */ ([])
  const chips = h('ul', { class: 'chips', 'data-testid': `chips-${spec.key}` })
  const add = h('select', { class: 'chip-add', 'aria-label': `Add to ${spec.label}` })
  const draw = () => {
    chips.replaceChildren(...chosen.map((option) => h('li', { class: 'chip', 'data-testid': 'chip' },
      h('span', {}, option),
      h('button', {
        type: 'button',
        class: 'chip-remove',
        'aria-label': `Remove ${option}`,
        onclick: () => change(chosen.filter((other) => other !== option))
      }, '×'))))
    const left = options.filter((option) => !chosen.includes(option))
    add.replaceChildren(h('option', { value: '' }, left.length ? 'Add…' : 'All chosen'),
      ...left.map((option) => h('option', { value: option }, option)))
    add.disabled = left.length === 0
  }
  /** @param {string[]} next */
  const change = (next) => {
    // In the schema's order, so two people choosing the same set store the same list.
    chosen = options.filter((option) => next.includes(option))
    draw()
    onChange(chosen.length ? chosen : null)
  }
  add.addEventListener('change', () => {
    if (add.value) change([...chosen, add.value])
    add.focus()
  })
  draw()
  return {
    element: h('div', { class: 'multiselect' }, chips, add),
    control: add,
    set (value) {
      // Options no longer in the schema still show: the data is kept, and the person can remove them.
      chosen = Array.isArray(value) ? value.filter((v) => typeof v === 'string') : []
      draw()
    },
    destroy () {}
  }
}

/**
 * Bind a list widget to `fields[spec.key]`: the others' values are shown as they arrive, mine are written
 * whole under `origin` (clearing deletes the key, as the server does for a `null`).
 * @param {(spec: FieldSpec, onChange: (value: string[] | null) => void) => Widget} make
 * @param {FieldSpec} spec
 * @param {import('yjs').Map<any>} fields
 * @param {any} origin of my edits
 * @param {(value: unknown) => void} [changed] told of every value shown or written
 */
export function bindWidget (make, spec, fields, origin, changed = () => {}) {
  const key = spec.key
  const doc = /** @type {import('yjs').Doc} */ (fields.doc)
  const widget = make(spec, (value) => {
    doc.transact(() => {
      if (value === null) fields.delete(key)
      else fields.set(key, value)
    }, origin)
    changed(value)
  })
  /** @param {import('yjs').YMapEvent<any>} event @param {import('yjs').Transaction} transaction */
  const observer = (event, transaction) => {
    if ((transaction.local && transaction.origin === origin) || !event.keysChanged.has(key)) return
    widget.set(fields.get(key))
    changed(fields.get(key))
  }
  fields.observe(observer)
  widget.set(fields.get(key))
  return {
    ...widget,
    destroy () {
      fields.unobserve(observer)
      widget.destroy()
    }
  }
}
