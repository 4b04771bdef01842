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
//
// The text is markdown: it is styled as it is typed (CodeMirror's markdown language: bold shows bold,
// headings larger), and a toolbar and shortcuts format the selection (markdown-toolbar.js). A viewer,
// who cannot edit anyway, sees it rendered instead (markdown.js), following the others' edits live.
import { standardKeymap } from '@codemirror/commands'
import { markdown } from '@codemirror/lang-markdown'
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language'
import { Annotation, Compartment, EditorState } from '@codemirror/state'
import { EditorView, keymap } from '@codemirror/view'
import { tags } from '@lezer/highlight'
import { yCollab, ySyncAnnotation, yUndoManagerKeymap } from 'y-codemirror.next'
import * as Y from 'yjs'
import { h } from './dom.js'
import { markdownBlock, renderMarkdown } from './markdown.js'
import { formatKeymap, markdownToolbar } from './markdown-toolbar.js'
import { canEdit } from './session.js'
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

/** Markdown as it is typed: the marks (`**`, `#`, `-`) muted, what they mean shown. */
const markdownStyle = HighlightStyle.define([
  { tag: tags.heading1, fontSize: '1.35em', fontWeight: '700' },
  { tag: tags.heading2, fontSize: '1.2em', fontWeight: '700' },
  { tag: [tags.heading3, tags.heading4, tags.heading5, tags.heading6], fontSize: '1.05em', fontWeight: '700' },
  { tag: tags.strong, fontWeight: '700' },
  { tag: tags.emphasis, fontStyle: 'italic' },
  { tag: tags.strikethrough, textDecoration: 'line-through' },
  { tag: [tags.link, tags.url], color: 'var(--accent)', textDecoration: 'underline' },
  { tag: tags.monospace, fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace' },
  { tag: [tags.processingInstruction, tags.quote, tags.contentSeparator], color: 'var(--muted)' }
])

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
  if (!canEdit()) return showRichText(key, fields, { id, labelId })
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
        markdown(),
        syntaxHighlighting(markdownStyle),
        // No indentWithTab: Tab leaves the field, as it leaves every other control.
        keymap.of([...formatKeymap, ...yUndoManagerKeymap, ...standardKeymap]),
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

  const toolbar = markdownToolbar(() => view, { testId: `${id}-toolbar` })
  toolbar.setDisabled(true) // as the editor starts: read-only
  const element = h('div', { class: 'rich-text' }, toolbar.element, view.dom)
  return {
    element,
    focus: () => view.focus(),
    setReadOnly (on) {
      view.dispatch({ effects: readOnly.reconfigure(access(on)) })
      toolbar.setDisabled(on)
    },
    destroy () {
      fields.unobserve(mapObserver)
      // The page stays on screen until the next one is drawn, and CodeMirror removes its element when
      // destroyed: leave an inert copy in its place so the form does not jump meanwhile.
      const still = /** @type {HTMLElement} */ (element.cloneNode(true))
      still.inert = true
      element.replaceWith(still)
      view.destroy()
      undo?.destroy()
    }
  }
}

/**
 * A viewer's rich-text field: the markdown rendered (sanitised), redrawn as the others edit it.
 * @param {string} key
 * @param {import('yjs').Map<any>} fields
 * @param {{id: string, labelId: string}} options
 * @returns {{element: HTMLElement, focus: () => void, setReadOnly: (readOnly: boolean) => void, destroy: () => void}}
 */
function showRichText (key, fields, { id, labelId }) {
  const element = markdownBlock('', { id, 'data-testid': id, role: 'group', 'aria-labelledby': labelId, tabindex: '-1' })
  /** @type {Y.Text | null} */
  let text = null
  let queued = false
  const draw = () => {
    queued = false
    const value = fields.get(key)
    element.replaceChildren(renderMarkdown(value instanceof Y.Text ? value.toString() : typeof value === 'string' ? value : ''))
  }
  // A burst of updates (the first sync, someone typing fast) is drawn once.
  const redraw = () => {
    if (queued) return
    queued = true
    setTimeout(draw, 0)
  }
  const follow = () => {
    const value = fields.get(key)
    const next = value instanceof Y.Text ? value : null
    if (next !== text) {
      text?.unobserve(redraw)
      text = next
      text?.observe(redraw)
    }
    redraw()
  }
  /** @param {Y.YMapEvent<any>} event */
  const mapObserver = (event) => { if (event.keysChanged.has(key)) follow() }
  fields.observe(mapObserver)
  follow()
  return {
    element,
    focus: () => element.focus(),
    setReadOnly: () => {},
    destroy () {
      fields.unobserve(mapObserver)
      text?.unobserve(redraw)
      queued = true // nothing more to draw
    }
  }
}
