// The formatting commands (markdown-toolbar.js) on a CodeMirror state, without a browser: what each does
// to the text and the selection, and that doing it again takes it back.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EditorSelection, EditorState } from '@codemirror/state'
import { makeLink, prefixLines, wrapWith } from '../src/markdown-toolbar.js'

/**
 * A stand-in for an EditorView: a state that dispatches apply to.
 * @param {string} doc @param {number} anchor @param {number} [head]
 */
function editor (doc, anchor, head = anchor) {
  const view = {
    state: EditorState.create({ doc, selection: EditorSelection.single(anchor, head) }),
    /** @param {...any} specs */
    dispatch (...specs) { view.state = view.state.update(...specs).state }
  }
  return view
}
/** @param {{state: EditorState}} view */
const selected = (view) => view.state.sliceDoc(view.state.selection.main.from, view.state.selection.main.to)
/** @param {any} view */
const run = (command, view) => command(view)

test('bold wraps the selection and keeps it selected; again, it unwraps', () => {
  const view = editor('a word here', 2, 6)
  run(wrapWith('**'), view)
  assert.equal(view.state.doc.toString(), 'a **word** here')
  assert.equal(selected(view), 'word')
  run(wrapWith('**'), view)
  assert.equal(view.state.doc.toString(), 'a word here')
  assert.equal(selected(view), 'word')
})

test('with nothing selected, an empty pair with the caret inside', () => {
  const view = editor('ab', 1)
  run(wrapWith('_'), view)
  assert.equal(view.state.doc.toString(), 'a__b')
  assert.equal(view.state.selection.main.head, 2)
})

test('heading and list prefix every line selected, and come off when all have them', () => {
  const view = editor('one\ntwo\nthree', 1, 5)
  run(prefixLines('- '), view)
  assert.equal(view.state.doc.toString(), '- one\n- two\nthree')
  run(prefixLines('- '), view)
  assert.equal(view.state.doc.toString(), 'one\ntwo\nthree')
  const heading = editor('title', 0)
  run(prefixLines('# '), heading)
  assert.equal(heading.state.doc.toString(), '# title')
})

test('a link takes the selection as its text and selects the address to type over', () => {
  const view = editor('see site now', 4, 8)
  run(makeLink, view)
  assert.equal(view.state.doc.toString(), 'see [site](https://) now')
  assert.equal(selected(view), 'https://')
  const empty = editor('', 0)
  run(makeLink, empty)
  assert.equal(empty.state.doc.toString(), '[link](https://)')
})
