// One labelled control per field of a collection, bound both ways to the record's `fields` Y.Map.
//
// Scalar fields hold plain JSON values, last writer wins (scalar-field.js, field-input.js); `richtext`
// fields hold a nested Y.Text, edited in a CodeMirror editor (rich-text.js), so concurrent typing merges
// character by character; `multiselect` and `link` hold lists, replaced whole (field-input.js). Local
// writes use the LOCAL origin; observers ignore local transactions, so only remote changes are rendered.
//
// Under each control a note says, in this order: why what is typed is not stored (the browser's check,
// the same as the server's), why the server corrected a value (message 101 `corrected`, `corrected`),
// or "required" when a required field is empty.
import { MAX_TEXT_CHARS } from './constants.js'
import { h } from './dom.js'
import { isEmptyValue, typedProblem } from './field-check.js'
import { bindWidget, CHECKED_SCALARS, multiselect } from './field-input.js'
import { linkPicker } from './link-picker.js'
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
  },
  ...CHECKED_SCALARS
}

/** The list fields' controls (field-input.js, link-picker.js). */
const WIDGETS = { multiselect, link: linkPicker }

/**
 * The first text field: what names a record in lists and headings.
 * @param {{fields: FieldSpec[]}} collection
 */
export function titleField (collection) {
  return collection.fields.find((spec) => spec.type === 'text')?.key ?? null
}

/**
 * How a scalar field's control reads and renders. A required field emptied is "not a value yet", like a
 * half-typed number: nothing is stored (the server would refuse it) and the note says "required".
 * @param {FieldSpec} spec
 * @returns {Scalar}
 */
function scalarOf (spec) {
  const kind = SCALARS[spec.type] ?? SCALARS.text
  if (!spec.required || spec.type === 'boolean') return kind
  return { ...kind, read: (input) => { const value = kind.read(input); return value === null || value === '' ? undefined : value } }
}

/**
 * The fields a form shows: archived ones are hidden (their values are kept).
 * @param {{fields: FieldSpec[]}} collection
 */
export const shownFields = (collection) => collection.fields.filter((spec) => !spec.archived)

/**
 * Build the control for `spec` and bind it to `fields`. `marker` is where presence shows who else is
 * editing this field; the wrapper's `data-field` (the key) tells which field holds the focus.
 * Native controls are read-only while the surrounding <fieldset> is disabled; a rich-text editor (a
 * contenteditable) is not affected by it, so it starts read-only and follows `setReadOnly`, which the
 * caller switches together with the fieldset. `corrected(reason)` shows why the server put a value of
 * this field right; `relabel(text)` shows a new label.
 * @param {FieldSpec} spec
 * @param {import('yjs').Map<any>} fields
 * @param {{awareness: import('y-protocols/awareness').Awareness}} options where rich text shares carets
 * @returns {{element: HTMLElement, marker: HTMLElement, setReadOnly: (readOnly: boolean) => void,
 *   corrected: (reason: string) => void, relabel: (text: string) => void, destroy: () => void}}
 */
export function bindField (spec, fields, { awareness }) {
  const id = `field-${spec.key}`
  const marker = h('span', { class: 'editing', 'data-testid': `editing-${spec.key}` })
  const required = spec.required ? h('span', { class: 'required-mark', title: 'required' }, ' *') : null
  const words = document.createTextNode(spec.label) // the label's text: an admin may rename it while shown
  /** @param {string} text */
  const relabel = (text) => { words.data = text }
  const note = h('p', { class: 'field-note', id: `${id}-note`, 'data-testid': `note-${spec.key}`, 'aria-live': 'polite' })
  let correction = ''
  /** @type {HTMLInputElement | HTMLSelectElement | null} */
  let control = null // a scalar's control: what it holds is checked, stored or not
  const explain = () => {
    const problem = control ? typedProblem(spec, control.value) : null
    const empty = control ? control.type !== 'checkbox' && control.value.trim() === '' : isEmptyValue(fields.get(spec.key))
    const text = problem ?? (correction || (spec.required && empty ? 'required' : ''))
    note.textContent = text
    note.classList.toggle('field-error', Boolean(problem || correction))
    note.hidden = !text
  }
  /** @param {import('yjs').YMapEvent<any>} event */
  const onValue = (event) => { if (event.keysChanged.has(spec.key)) explain() }
  // Observing after the control's own binding, so the note reads what the control shows now.
  const start = () => {
    fields.observe(onValue)
    explain()
  }
  /** @param {string} reason */
  const corrected = (reason) => {
    correction = `Corrected by the server: ${reason}`
    explain()
  }
  const forgetCorrection = () => {
    correction = ''
    explain()
  }
  /** @param {() => void} destroy */
  const withNote = (destroy) => () => {
    fields.unobserve(onValue)
    destroy()
  }

  if (spec.type === 'richtext') {
    // A <label for> cannot name a contenteditable: the editor is labelled by id, and the label focuses it.
    const labelId = `${id}-label`
    const editor = bindRichText(spec.key, fields,
      { id, labelId, awareness, origin: LOCAL, maxChars: MAX_TEXT_CHARS })
    const label = h('label', { id: labelId, onclick: editor.focus }, words, required)
    const element = h('div', { class: 'field', 'data-field': spec.key },
      h('div', { class: 'field-label' }, label, marker), editor.element, note)
    editor.element.addEventListener('input', forgetCorrection)
    start()
    return { element, marker, setReadOnly: editor.setReadOnly, corrected, relabel, destroy: withNote(editor.destroy) }
  }
  const make = WIDGETS[/** @type {keyof typeof WIDGETS} */ (spec.type)]
  if (make) {
    const widget = bindWidget(make, spec, fields, LOCAL, forgetCorrection)
    const picker = widget.control // the note then reads the stored list: a widget holds nothing unstored
    picker.id = id
    picker.dataset.testid = id
    picker.setAttribute('aria-describedby', note.id)
    const label = h('label', { for: id }, words, required)
    const element = h('div', { class: 'field', 'data-field': spec.key },
      h('div', { class: 'field-label' }, label, marker), widget.element, note)
    start()
    return { element, marker, setReadOnly: () => {}, corrected, relabel, destroy: withNote(widget.destroy) }
  }
  const binding = bindScalar(scalarOf(spec), spec, fields, { awareness, origin: LOCAL })
  const { input, prompt } = binding
  input.id = id
  input.name = spec.key
  input.dataset.testid = id
  input.setAttribute('aria-describedby', note.id)
  if (spec.required) input.setAttribute('aria-required', 'true')
  control = input
  input.addEventListener('input', forgetCorrection)
  input.addEventListener('change', forgetCorrection)
  const label = h('label', { for: id }, words, required)
  const element = spec.type === 'boolean'
    ? h('div', { class: 'field field-check', 'data-field': spec.key }, input, label, marker, note)
    : h('div', { class: 'field', 'data-field': spec.key }, h('div', { class: 'field-label' }, label, marker), input, prompt, note)
  start()
  return { element, marker, setReadOnly: () => {}, corrected, relabel, destroy: withNote(binding.destroy) }
}
