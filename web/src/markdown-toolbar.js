// Formatting a rich-text field's markdown: Bold, Italic, Heading, List and Link, as toolbar buttons and as
// shortcuts. Each is one CodeMirror transaction (userEvent "input"), so it reaches the Y.Text through the
// binding like typing does, and Ctrl+Z takes it back as one step.
//
// The toolbar's buttons never take the focus from the editor (a mouse press on them is not let through),
// so the selection they act on is still the one the person made.
import { EditorSelection } from '@codemirror/state'
import { h } from './dom.js'

/** @typedef {import('@codemirror/view').EditorView} EditorView */
/** @typedef {(view: EditorView) => boolean} Command */

/**
 * Wrap each selection in `mark` (e.g. `**`), or unwrap it when it is wrapped already. An empty selection
 * gets an empty pair with the caret inside, to type into.
 * @param {string} mark
 * @returns {Command}
 */
export const wrapWith = (mark) => (view) => {
  const { state } = view
  view.dispatch(state.changeByRange((range) => {
    const before = state.sliceDoc(range.from - mark.length, range.from)
    const after = state.sliceDoc(range.to, range.to + mark.length)
    if (before === mark && after === mark) {
      return {
        changes: [{ from: range.from - mark.length, to: range.from }, { from: range.to, to: range.to + mark.length }],
        range: EditorSelection.range(range.from - mark.length, range.to - mark.length)
      }
    }
    return {
      changes: [{ from: range.from, insert: mark }, { from: range.to, insert: mark }],
      range: EditorSelection.range(range.from + mark.length, range.to + mark.length)
    }
  }), { userEvent: 'input', scrollIntoView: true })
  return true
}

/**
 * Start every line the selection touches with `prefix` (e.g. `# `, `- `), or take it away if all of
 * them have it already.
 * @param {string} prefix
 * @returns {Command}
 */
export const prefixLines = (prefix) => (view) => {
  const { state } = view
  /** @type {Set<number>} */
  const seen = new Set()
  /** @type {import('@codemirror/state').Line[]} */
  const lines = []
  for (const range of state.selection.ranges) {
    for (let at = range.from; at <= range.to;) {
      const line = state.doc.lineAt(at)
      if (!seen.has(line.number)) {
        seen.add(line.number)
        lines.push(line)
      }
      at = line.to + 1
    }
  }
  const all = lines.every((line) => line.text.startsWith(prefix))
  const changes = lines.map((line) => all
    ? { from: line.from, to: line.from + prefix.length }
    : { from: line.from, insert: prefix })
  view.dispatch({ changes, userEvent: 'input', scrollIntoView: true })
  return true
}

/** The address a new link starts with, selected so that typing replaces it. */
const PLACEHOLDER_URL = 'https://'

/**
 * Make each selection a link's text, `[text](https://)`, with the address selected to type over.
 * @type {Command}
 */
export const makeLink = (view) => {
  const { state } = view
  view.dispatch(state.changeByRange((range) => {
    const text = state.sliceDoc(range.from, range.to) || 'link'
    const insert = `[${text}](${PLACEHOLDER_URL})`
    const urlAt = range.from + text.length + 3
    return {
      changes: { from: range.from, to: range.to, insert },
      range: EditorSelection.range(urlAt, urlAt + PLACEHOLDER_URL.length)
    }
  }), { userEvent: 'input', scrollIntoView: true })
  return true
}

/**
 * The formatting actions: what the button says, its shortcut (CodeMirror's key names; Mod is Ctrl, or
 * ⌘ on a Mac) and what it does. Ctrl+K stays the app's command palette (shortcuts.js), so a link is
 * Ctrl+Shift+K.
 * @type {Array<{name: string, label: string, key: string, keyText: string, run: Command}>}
 */
export const FORMATS = [
  { name: 'bold', label: 'B', key: 'Mod-b', keyText: 'Ctrl+B', run: wrapWith('**') },
  { name: 'italic', label: 'I', key: 'Mod-i', keyText: 'Ctrl+I', run: wrapWith('_') },
  { name: 'heading', label: 'H', key: 'Mod-Alt-1', keyText: 'Ctrl+Alt+1', run: prefixLines('# ') },
  { name: 'list', label: '•', key: 'Mod-Shift-8', keyText: 'Ctrl+Shift+8', run: prefixLines('- ') },
  { name: 'link', label: 'Link', key: 'Mod-Shift-k', keyText: 'Ctrl+Shift+K', run: makeLink }
]

/** CodeMirror key bindings for FORMATS. */
export const formatKeymap = FORMATS.map((format) => ({ key: format.key, run: format.run, preventDefault: true }))

/** Where "Mod" is ⌘, the buttons say so. */
const MAC = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform)

/** "Bold (Ctrl+B)", or "Bold (⌘+B)" on a Mac. @param {{name: string, keyText: string}} format */
const titleOf = ({ name, keyText }) =>
  `${name.charAt(0).toUpperCase()}${name.slice(1)} (${MAC ? keyText.replace('Ctrl', '⌘') : keyText})`

/**
 * The toolbar above an editor. `setDisabled` follows the editor's read-only state.
 * @param {() => EditorView} view the editor it formats (made after the toolbar)
 * @param {{testId: string}} options
 * @returns {{element: HTMLElement, setDisabled: (disabled: boolean) => void}}
 */
export function markdownToolbar (view, { testId }) {
  const buttons = FORMATS.map((format) => h('button', {
    type: 'button',
    class: `plain format-${format.name}`,
    'aria-label': titleOf(format),
    title: titleOf(format),
    'data-format': format.name,
    // Keep the focus, and so the selection, in the editor.
    onmousedown: (/** @type {MouseEvent} */ event) => event.preventDefault(),
    onclick: () => {
      const editor = view()
      format.run(editor)
      editor.focus()
    }
  }, format.label))
  // One Tab stop for the whole toolbar; the arrow keys move along it (the ARIA toolbar pattern).
  buttons.forEach((button, i) => { button.tabIndex = i === 0 ? 0 : -1 })
  /** @param {KeyboardEvent} event */
  const onkeydown = (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key]
    const at = buttons.indexOf(/** @type {HTMLButtonElement} */ (event.target))
    if (!step || at < 0) return
    event.preventDefault()
    const next = buttons[(at + step + buttons.length) % buttons.length]
    for (const button of buttons) button.tabIndex = button === next ? 0 : -1
    next.focus()
  }
  const element = h('div', { class: 'md-toolbar', role: 'toolbar', 'aria-label': 'Formatting',
    'data-testid': testId, onkeydown }, ...buttons)
  return {
    element,
    setDisabled (disabled) {
      for (const button of buttons) button.disabled = disabled
    }
  }
}
