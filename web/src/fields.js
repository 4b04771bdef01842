// One labelled control per field of a collection, bound both ways to the record's `fields` Y.Map.
//
// Scalar fields hold plain JSON values (last writer wins); `richtext` fields hold a nested Y.Text, so
// concurrent typing merges character by character. Local writes use the LOCAL origin; an observer
// ignores local transactions, so only remote changes are rendered into the controls.
import * as Y from 'yjs'
import { h } from './dom.js'

/** Transaction origin of edits made in this tab's controls. */
export const LOCAL = Symbol('local edit')

// The server refuses longer text values (collab/schema.py): stop them at the keyboard instead.
const MAX_TEXT_CHARS = 100_000

/**
 * How each scalar type maps onto a control. `read` returns the value to store, `null` to clear the
 * field, or `undefined` for "not a value yet" (a number half typed), which stores nothing.
 * `typing` controls are not overwritten while focused: a remote value waits until blur.
 */
const SCALARS = {
  text: {
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
    read: (input) => input.value || null, // the control's value is already YYYY-MM-DD
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

/** The first text field: what names a record in lists and headings. */
export function titleField (collection) {
  return collection.fields.find((spec) => spec.type === 'text')?.key ?? null
}

/**
 * Build the control for `spec` and bind it to `fields`. `marker` is where presence shows who else is
 * editing this field.
 * @param {{key: string, label: string, type: string, options?: string[]}} spec
 * @param {Y.Map<any>} fields
 * @returns {{element: HTMLElement, marker: HTMLElement, destroy: () => void}}
 */
export function bindField (spec, fields) {
  const id = `field-${spec.key}`
  const binding = spec.type === 'richtext'
    ? bindRichText(spec, fields)
    : bindScalar(SCALARS[spec.type] ?? SCALARS.text, spec, fields)
  const { input } = binding
  input.id = id
  input.name = spec.key
  input.dataset.testid = id
  // Read-only comes from the surrounding <fieldset disabled>: one switch for every kind of control.
  const label = h('label', { for: id }, spec.label)
  const marker = h('span', { class: 'editing', 'data-testid': `editing-${spec.key}` })
  const element = spec.type === 'boolean'
    ? h('div', { class: 'field field-check' }, input, label, marker)
    : h('div', { class: 'field' }, h('div', { class: 'field-label' }, label, marker), input)
  return { element, marker, destroy: binding.destroy }
}

function bindScalar (kind, spec, fields) {
  const input = kind.create(spec)
  const key = spec.key
  let waiting = false // a remote value arrived while the user was typing here

  const render = () => {
    if (kind.typing && document.activeElement === input) {
      waiting = true
      return
    }
    waiting = false
    kind.render(input, fields.get(key))
  }
  const onEdit = () => {
    const value = kind.read(input)
    if (value === undefined) return
    fields.doc.transact(() => {
      // Clearing deletes the key, as the server does for a `null` value.
      if (value === null) fields.delete(key)
      else fields.set(key, value)
    }, LOCAL)
  }
  const onBlur = () => { if (waiting) render() }
  const observer = (event, transaction) => {
    if (!transaction.local && event.keysChanged.has(key)) render()
  }

  input.addEventListener(kind.event, onEdit)
  input.addEventListener('blur', onBlur)
  fields.observe(observer)
  render()
  return { input, destroy: () => fields.unobserve(observer) }
}

/**
 * A textarea bound to the nested Y.Text at `fields[key]`. Each edit is turned into one delete and one
 * insert (the span between the common prefix and suffix of before and after), which is exact for
 * typing, pasting and deleting a selection. Remote changes are applied while the user types, and the
 * caret is moved through the change so it stays on the same character.
 */
function bindRichText (spec, fields) {
  const key = spec.key
  const input = h('textarea', { rows: 5, maxLength: MAX_TEXT_CHARS })
  /** @type {Y.Text | null} */
  let text = null

  const onTextChange = (event, transaction) => {
    if (transaction.local) return
    const focused = document.activeElement === input
    const start = moveThrough(event.delta, input.selectionStart)
    const end = moveThrough(event.delta, input.selectionEnd)
    input.value = text.toString()
    if (focused) input.setSelectionRange(start, end)
  }
  // (Re)attach to whatever Y.Text the map holds now: a remote client may replace the whole value.
  const attach = ({ render = true } = {}) => {
    const value = fields.get(key)
    const next = value instanceof Y.Text ? value : null
    if (next !== text) {
      text?.unobserve(onTextChange)
      text = next
      text?.observe(onTextChange)
    }
    if (render) input.value = text ? text.toString() : typeof value === 'string' ? value : ''
  }
  const onEdit = () => {
    fields.doc.transact(() => {
      if (text === null) {
        // The first words ever written here. Two people doing this at the same moment each create a
        // Y.Text and only one survives; the server creates the Y.Text when a record is created with
        // a value, so this is rare. A full editor would create every richtext field up front.
        fields.set(key, new Y.Text(input.value))
        attach({ render: false }) // the textarea already shows it; rendering would move the caret
      } else {
        applyDiff(text, text.toString(), input.value)
      }
    }, LOCAL)
  }
  const mapObserver = (event, transaction) => {
    if (!transaction.local && event.keysChanged.has(key)) attach()
  }

  input.addEventListener('input', onEdit)
  fields.observe(mapObserver)
  attach()
  return {
    input,
    destroy () {
      fields.unobserve(mapObserver)
      text?.unobserve(onTextChange)
    }
  }
}

const isHighSurrogate = (code) => code >= 0xd800 && code <= 0xdbff
const isLowSurrogate = (code) => code >= 0xdc00 && code <= 0xdfff

/** Turn `before` into `after` in `text` by replacing only the span that differs. */
function applyDiff (text, before, after) {
  let start = 0
  const shorter = Math.min(before.length, after.length)
  while (start < shorter && before[start] === after[start]) start++
  // Never cut between the two halves of an emoji (or any character outside the BMP).
  if (start > 0 && isHighSurrogate(before.charCodeAt(start - 1))) start--
  let end = 0
  while (end < shorter - start && before[before.length - 1 - end] === after[after.length - 1 - end]) end++
  if (end > 0 && isLowSurrogate(before.charCodeAt(before.length - end))) end--
  const removed = before.length - start - end
  if (removed > 0) text.delete(start, removed)
  const inserted = after.slice(start, after.length - end)
  if (inserted) text.insert(start, inserted)
}

/** Where `position` ends up after a Y.Text delta is applied in front of it. */
function moveThrough (delta, position) {
  let index = 0 // position in the text as it was
  let moved = position
  for (const op of delta) {
    if (index >= position) break
    if (op.retain !== undefined) {
      index += op.retain
    } else if (op.insert !== undefined) {
      moved += op.insert.length
    } else if (op.delete !== undefined) {
      moved -= Math.min(op.delete, position - index)
      index += op.delete
    }
  }
  return moved
}
