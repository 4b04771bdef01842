// A scalar field's control (text, number, date, checkbox, select) bound to its JSON value in the
// record's `fields` Y.Map: last writer wins. My edits carry the caller's origin; the observer ignores
// local transactions, so only the others' values are rendered.
import { editingPrompt } from './editing-prompt.js'
import { FieldUndo } from './field-undo.js'
import { diff, mapCaret } from './text-diff.js'
import { shown as shownValue } from './wording.js'

/** @typedef {import('./types.js').FieldSpec} FieldSpec */

/**
 * How each scalar type maps onto a control. `read` returns the value to store, `null` to clear the
 * field, or `undefined` for "not a value yet" (a number or date half typed), which stores nothing.
 * `typing` controls are typed into, a character at a time: see bindScalar.
 * @typedef {HTMLInputElement | HTMLSelectElement} Control
 * @typedef {{
 *   create: (spec: FieldSpec) => Control,
 *   read: (input: any) => string | number | boolean | null | undefined,
 *   render: (input: any, value: unknown) => void,
 *   event: string,
 *   typing: boolean
 * }} Scalar
 */

/**
 * A scalar control bound to `fields[spec.key]`.
 *
 * A value someone else stores shows at once, also while the control is focused: in a text input the
 * caret stays by the text it was in (text-diff.js). Two cases wait until the control is left or the
 * input is finished, because replacing what is there would destroy typing that is not a value yet: a
 * number or date half typed (`read` gives undefined, e.g. "1e"), which says what is stored meanwhile,
 * and an IME composition in progress.
 *
 * Typing controls (text, number, date) have their own undo (field-undo.js): setting the value from
 * code empties the browser's. They also show the "someone is editing" prompt (editing-prompt.js); a
 * checkbox or a select is changed in one click, too late for a prompt.
 * @param {Scalar} kind
 * @param {FieldSpec} spec
 * @param {import('yjs').Map<any>} fields
 * @param {{awareness: import('y-protocols/awareness').Awareness, origin: any}} options `origin`: of my edits
 */
export function bindScalar (kind, spec, fields, { awareness, origin }) {
  const input = kind.create(spec)
  const key = spec.key
  const doc = /** @type {import('yjs').Doc} */ (fields.doc) // a map bound to a field is in a document
  const typing = kind.typing
  const undo = typing ? new FieldUndo() : null
  const prompt = typing ? editingPrompt({ key, label: spec.label, control: input, awareness }) : null
  let waiting = false // a remote value arrived while the control held something that is not a value yet
  let composing = false
  let shown = '' // a typing control's text as last rendered or typed: what an edit changed is the difference

  /** @returns {import('./field-undo.js').Value} */
  const stored = () => fields.get(key) ?? null
  /** @param {import('./field-undo.js').Value} value */
  const write = (value) => doc.transact(() => {
    // Clearing deletes the key, as the server does for a `null` value.
    if (value === null) fields.delete(key)
    else fields.set(key, value)
  }, origin)
  /**
   * Show `value`; in a focused text input, the caret goes where `place` says (setting the value moves it
   * to the end).
   * @param {unknown} value
   */
  const show = (value, place = keepCaret) => {
    const before = input.value
    const text = input instanceof HTMLInputElement && input.type === 'text' && document.activeElement === input
      ? { start: input.selectionStart ?? 0, end: input.selectionEnd ?? 0, direction: input.selectionDirection }
      : null
    kind.render(input, value)
    if (text && input instanceof HTMLInputElement && input.value !== before) {
      const [start, end] = place(before, input.value, text)
      input.setSelectionRange(start, end, text.direction ?? undefined)
    }
    shown = input.value
  }

  const render = () => {
    const focused = document.activeElement === input
    if (typing && focused && (composing || kind.read(input) === undefined)) {
      if (!composing) prompt?.say(`Meanwhile ${spec.label} was set to ${shownValue(fields.get(key), 80)}.`)
      waiting = true
      return
    }
    waiting = false
    show(fields.get(key))
  }
  const onEdit = () => {
    const text = input.value
    const edit = diff(shown, text)
    shown = text
    prompt?.typed()
    const value = kind.read(input)
    if (value === undefined) return
    const before = stored()
    write(value)
    undo?.record(before, value, edit, Date.now())
  }
  /** @param {'undo' | 'redo'} which */
  const step = (which) => {
    if (!undo) return
    const value = which === 'undo' ? undo.undo(stored()) : undo.redo(stored())
    if (value === undefined) {
      if (undo.interrupted) {
        prompt?.say(`${spec.label} was changed by someone else after your last edit: undo stops there.`)
      }
      return
    }
    write(value)
    waiting = false
    show(value, caretAfterChange)
  }
  /** @param {KeyboardEvent} event */
  const onKeydown = (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.altKey) return
    const letter = event.key.toLowerCase()
    const which = letter === 'z' ? (event.shiftKey ? 'redo' : 'undo') : letter === 'y' && !event.shiftKey ? 'redo' : null
    if (which === null) return
    event.preventDefault()
    step(which)
  }
  // The Edit menu's Undo and Redo, and other ways than the keyboard.
  /** @param {InputEvent} event */
  const onBeforeInput = (event) => {
    if (event.inputType !== 'historyUndo' && event.inputType !== 'historyRedo') return
    event.preventDefault()
    step(event.inputType === 'historyUndo' ? 'undo' : 'redo')
  }
  /** @param {FocusEvent} event */
  const onBlur = (event) => {
    undo?.pause()
    prompt?.blurred(event)
    if (waiting) render()
  }
  const onCompositionEnd = () => {
    composing = false
    if (waiting) render()
  }
  /** @param {import('yjs').YMapEvent<any>} event @param {import('yjs').Transaction} transaction */
  const observer = (event, transaction) => {
    // Only this control's own writes are shown already (another local writer: restored-copy.js).
    if ((transaction.local && transaction.origin === origin) || !event.keysChanged.has(key)) return
    undo?.overwritten(stored())
    render()
  }

  input.addEventListener(kind.event, onEdit)
  input.addEventListener('blur', (event) => onBlur(/** @type {FocusEvent} */ (event)))
  if (typing) {
    const control = /** @type {HTMLInputElement} */ (input)
    control.addEventListener('focus', () => prompt?.focused())
    control.addEventListener('keydown', onKeydown)
    control.addEventListener('beforeinput', onBeforeInput)
    control.addEventListener('compositionstart', () => { composing = true })
    control.addEventListener('compositionend', onCompositionEnd)
  }
  fields.observe(observer)
  render()
  return {
    input,
    prompt: prompt?.element ?? null,
    destroy () {
      fields.unobserve(observer)
      prompt?.destroy()
    }
  }
}

/**
 * The caret and selection stay by the text they were in when another value replaces the input's text.
 * @param {string} before @param {string} after @param {{start: number, end: number}} selection
 * @returns {[number, number]}
 */
function keepCaret (before, after, { start, end }) {
  return [mapCaret(before, after, start), mapCaret(before, after, end)]
}

/**
 * After an undo or redo, the caret goes where the text changed, as in an editor.
 * @param {string} before @param {string} after
 * @returns {[number, number]}
 */
function caretAfterChange (before, after) {
  const at = after.length - diff(before, after).end
  return [at, at]
}
