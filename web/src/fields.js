// One labelled control per field of a collection, bound both ways to the record's `fields` Y.Map.
//
// Scalar fields hold plain JSON values, last writer wins (scalar-field.js); `richtext` fields hold a
// nested Y.Text, edited in a CodeMirror editor (rich-text.js), so concurrent typing merges character by
// character. Local writes use the LOCAL origin; observers ignore local transactions, so only remote
// changes are rendered.
import { MAX_TEXT_CHARS } from './constants.js'
import { h } from './dom.js'
import { bindRichText } from './rich-text.js'
import { bindScalar } from './scalar-field.js'

/** Transaction origin of edits made in this tab's controls. */
export const LOCAL = Symbol('local edit')

/** @typedef {import('./types.js').FieldSpec} FieldSpec */

/** @typedef {import('./scalar-field.js').Scalar} Scalar */

/** @type {Record<string, Scalar>} */
const SCALARS = {
  text: {
    // The server refuses longer text values: stop them at the keyboard instead.
    create: () => h('input', { type: 'text', maxLength: MAX_TEXT_CHARS }),
    read: (input) => input.value,
    render: (input, value) => { input.value = typeof value === 'string' ? value : '' },
    event: 'input',
    typing: true
  },
  number: {
    create: () => h('input', { type: 'number', step: 'any', inputMode: 'decimal' }),
    read: (input) => input.validity.badInput ? undefined : input.value === '' ? null : input.valueAsNumber,
    render: (input, value) => { input.value = typeof value === 'number' ? String(value) : '' },
    event: 'input',
    typing: true
  },
  date: {
    create: () => h('input', { type: 'date' }),
    // The control's value is already YYYY-MM-DD; a date half typed is no value yet (and not a clearing).
    read: (input) => input.validity.badInput ? undefined : input.value || null,
    render: (input, value) => { input.value = typeof value === 'string' ? value : '' },
    event: 'input',
    typing: true
  },
  boolean: {
    create: () => h('input', { type: 'checkbox' }),
    read: (input) => input.checked,
    render: (input, value) => { input.checked = value === true },
    event: 'change',
    typing: false
  },
  select: {
    create: (spec) => h('select', {},
      h('option', { value: '' }, '—'),
      ...(spec.options ?? []).map((option) => h('option', { value: option }, option))),
    read: (input) => input.value || null,
    render: (input, value) => { input.value = typeof value === 'string' ? value : '' },
    event: 'change',
    typing: false
  }
}

/**
 * The first text field: what names a record in lists and headings.
 * @param {{fields: FieldSpec[]}} collection
 */
export function titleField (collection) {
  return collection.fields.find((spec) => spec.type === 'text')?.key ?? null
}

/**
 * Build the control for `spec` and bind it to `fields`. `marker` is where presence shows who else is
 * editing this field; the wrapper's `data-field` (the key) tells which field holds the focus.
 * Native controls are read-only while the surrounding <fieldset> is disabled; a rich-text editor (a
 * contenteditable) is not affected by it, so it starts read-only and follows `setReadOnly`, which the
 * caller switches together with the fieldset.
 * @param {FieldSpec} spec
 * @param {import('yjs').Map<any>} fields
 * @param {{awareness: import('y-protocols/awareness').Awareness}} options where rich text shares carets
 * @returns {{element: HTMLElement, marker: HTMLElement, setReadOnly: (readOnly: boolean) => void, destroy: () => void}}
 */
export function bindField (spec, fields, { awareness }) {
  const id = `field-${spec.key}`
  const marker = h('span', { class: 'editing', 'data-testid': `editing-${spec.key}` })
  if (spec.type === 'richtext') {
    // A <label for> cannot name a contenteditable: the editor is labelled by id, and the label focuses it.
    const labelId = `${id}-label`
    const editor = bindRichText(spec.key, fields,
      { id, labelId, awareness, origin: LOCAL, maxChars: MAX_TEXT_CHARS })
    const label = h('label', { id: labelId, onclick: editor.focus }, spec.label)
    const element = h('div', { class: 'field', 'data-field': spec.key },
      h('div', { class: 'field-label' }, label, marker), editor.element)
    return { element, marker, setReadOnly: editor.setReadOnly, destroy: editor.destroy }
  }
  const binding = bindScalar(SCALARS[spec.type] ?? SCALARS.text, spec, fields, { awareness, origin: LOCAL })
  const { input, prompt } = binding
  input.id = id
  input.name = spec.key
  input.dataset.testid = id
  const label = h('label', { for: id }, spec.label)
  const element = spec.type === 'boolean'
    ? h('div', { class: 'field field-check', 'data-field': spec.key }, input, label, marker)
    : h('div', { class: 'field', 'data-field': spec.key }, h('div', { class: 'field-label' }, label, marker), input, prompt)
  return { element, marker, setReadOnly: () => {}, destroy: binding.destroy }
}
