// A rich-text field: a CodeMirror 6 editor bound by y-codemirror.next to the nested Y.Text at
// `fields[key]`. Concurrent typing merges character by character, and the others' carets and selections
// come from the record's awareness.
//
// Ctrl+Z undoes only this person's edits (a Y.UndoManager that tracks the binding's own transactions),
// a word or a pause at a time: undo-steps.js decides where a step ends and the manager is told to stop
// capturing there (its own timer is off, it would merge everything typed without a pause into one step).
// Ctrl+Shift+Z and Ctrl+Y redo.
//
// The editor follows whichever Y.Text the map holds: an HTTP PATCH or a restore may put a new one there,
// and a record created without a value has none until the first keystroke here creates it.
import { standardKeymap } from '@codemirror/commands'
import { Annotation, Compartment, EditorState } from '@codemirror/state'
import { EditorView, keymap } from '@codemirror/view'
import { yCollab, ySyncAnnotation, yUndoManagerKeymap } from 'y-codemirror.next'
import * as Y from 'yjs'
import { UndoSteps } from './undo-steps.js'

/** Marks the transactions that swap the editor over to another Y.Text: they are not typing. */
const rebinding = Annotation.define()

/**
 * What a local transaction typed and deleted, for undo-steps.js.
 * @param {import('@codemirror/state').Transaction} tr
 * @returns {import('./undo-steps.js').Edit}
 */
function editOf (tr) {
  let inserted = ''
  let deleted = 0
  tr.changes.iterChanges((fromA, toA, _fromB, _toB, text) => {
    deleted += toA - fromA
    inserted += text.toString()
  })
  return { inserted, deleted }
}

/** @param {boolean} readOnly */
const access = (readOnly) => readOnly ? [EditorState.readOnly.of(true), EditorView.editable.of(false)] : []

/**
 * Refuse local edits that would make the text longer than `maxChars` (the server refuses them too).
 * Remote changes cannot be refused here: the Y.Text already holds them.
 */
/** @param {number} maxChars */
const maxLength = (maxChars) => EditorState.transactionFilter.of((tr) =>
  tr.docChanged && !tr.annotation(ySyncAnnotation) &&
  tr.newDoc.length > maxChars && tr.newDoc.length > tr.startState.doc.length ? [] : tr)

/**
 * @param {string} key the field's key in `fields`
 * @param {import('yjs').Map<any>} fields
 * @param {object} options
 * @param {string} options.id the content element's id and test id
 * @param {string} options.labelId the id of the field's visible label
 * @param {import('y-protocols/awareness').Awareness} options.awareness where carets are shared
 * @param {any} options.origin the transaction origin of creating the Y.Text
 * @param {number} options.maxChars
 * @returns {{element: HTMLElement, focus: () => void, setReadOnly: (readOnly: boolean) => void, destroy: () => void}}
 */
export function bindRichText (key, fields, { id, labelId, awareness, origin, maxChars }) {
  const binding = new Compartment()
  const readOnly = new Compartment()
  /** @type {Y.Text | null} */
  let text = null
  /** @type {Y.UndoManager | null} */
  let undo = null
  const steps = new UndoSteps()

  /**
   * Bind the editor to `next` (or to nothing, showing `content`), replacing what it shows if needed.
   * @param {Y.Text | null} next
   * @param {string} [content]
   */
  const bindTo = (next, content = next ? next.toString() : '') => {
    if (next !== text) {
      // Two steps: y-codemirror.next's plugins read their Y.Text when they are created, so the old ones
      // must be gone before the new ones are made; and without them, the swap writes to no Y.Text.
      view.dispatch({ effects: binding.reconfigure([]) })
      undo?.destroy()
      text = next
      // Only the binding's own transactions are undone (it adds itself): not others', not a restore's.
      undo = text ? new Y.UndoManager(text, { trackedOrigins: new Set(), captureTimeout: Infinity }) : null
      // After an undo or a redo, the next edit is a step of its own.
      undo?.on('stack-item-popped', () => steps.reset())
      steps.reset()
    }
    const current = view.state.doc.toString()
    view.dispatch({
      changes: content === current ? undefined : { from: 0, to: current.length, insert: content },
      effects: binding.reconfigure(text ? yCollab(text, awareness, { undoManager: undo ?? false }) : []),
      annotations: rebinding.of(true),
      filter: false
    })
  }

  // The first words ever written here. Two people doing this at the same moment each create a Y.Text
  // and only one survives; the server creates it when a record is created with a value, so this is rare.
  // The Y.Text is made empty and what was typed is then typed again into it through the binding, so
  // that the undo manager has it: Ctrl+Z takes back the first character too.
  const create = () => {
    const { doc: typed, selection } = view.state
    const created = new Y.Text()
    const doc = /** @type {Y.Doc} */ (fields.doc) // a map bound to a field is in a document
    doc.transact(() => fields.set(key, created), origin)
    bindTo(created)
    view.dispatch({ changes: { from: 0, insert: typed }, selection, userEvent: 'input' })
  }

  const view = new EditorView({
    state: EditorState.create({
      extensions: [
        binding.of([]),
        readOnly.of(access(true)),
        maxLength(maxChars),
        // No indentWithTab: Tab leaves the field, as it leaves every other control.
        keymap.of([...yUndoManagerKeymap, ...standardKeymap]),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ id, 'data-testid': id, 'aria-labelledby': labelId }),
        // Our caret is shown to the others only while we are in this field, like the "is editing" marker.
        EditorView.domEventHandlers({
          blur: () => { if (awareness.getLocalState()?.cursor) awareness.setLocalStateField('cursor', null) }
        })
      ]
    }),
    dispatchTransactions (transactions, editor) {
      for (const tr of transactions) {
        if (!tr.docChanged || tr.annotation(ySyncAnnotation) || tr.annotation(rebinding)) continue
        if (steps.starts(editOf(tr), Date.now())) undo?.stopCapturing()
      }
      editor.update(transactions)
      if (text === null && transactions.some((tr) => tr.docChanged && !tr.annotation(rebinding))) create()
    }
  })

  // (Re)attach to whatever the map holds now: a remote client may replace the whole value.
  const attach = () => {
    const value = fields.get(key)
    if (value instanceof Y.Text) {
      if (value !== text) bindTo(value)
    } else {
      bindTo(null, typeof value === 'string' ? value : '')
    }
  }
  /** @param {Y.YMapEvent<any>} event @param {Y.Transaction} transaction */
  const mapObserver = (event, transaction) => {
    if (!transaction.local && event.keysChanged.has(key)) attach()
  }
  fields.observe(mapObserver)
  attach()

  return {
    element: view.dom,
    focus: () => view.focus(),
    setReadOnly: (on) => view.dispatch({ effects: readOnly.reconfigure(access(on)) }),
    destroy () {
      fields.unobserve(mapObserver)
      // The page stays on screen until the next one is drawn, and CodeMirror removes its element when
      // destroyed: leave an inert copy in its place so the form does not jump meanwhile.
      const still = /** @type {HTMLElement} */ (view.dom.cloneNode(true))
      still.inert = true
      view.dom.replaceWith(still)
      view.destroy()
      undo?.destroy()
    }
  }
}
