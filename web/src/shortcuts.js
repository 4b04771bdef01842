// The app's keyboard shortcuts, for someone signed in:
// - Ctrl/⌘+K opens the command palette (palette.js), from anywhere, even while typing;
// - `/` puts the caret in the page's search box, and `n` makes a new record in the collection shown (its
//   "New record" button: the same path as a click, offline included), both only when not typing (in a
//   field, an editor, a dialog) so that they never eat a character. On a record's page, `n` goes to the
//   record's collection (the one the sidebar marks) and presses its "New record" once it is drawn.
import { openPalette } from './palette.js'
import { canEdit } from './session.js'

/** How long `n` on a record's page waits for its collection's page to offer "New record". */
const NEW_RECORD_WAIT_MS = 5000
const NEW_RECORD = 'main [data-testid="new-record"]'

/**
 * Whether a key press belongs to what the person is typing into, or to an open dialog.
 * @param {EventTarget | null} target
 */
export function typingIn (target) {
  if (document.querySelector('dialog[open]')) return true
  if (!(target instanceof Element)) return false
  return target.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]') !== null
}

/** Press the "New record" of the collection page at `hash` once it shows, if the person is still there. */
/** @param {string} hash */
function newRecordIn (hash) {
  const main = document.querySelector('main')
  if (!main) return
  const press = () => {
    const create = document.querySelector(NEW_RECORD)
    if (location.hash !== hash) stop()
    else if (create instanceof HTMLButtonElement && !create.disabled) {
      stop()
      create.click()
    }
  }
  const watcher = new MutationObserver(press)
  const timer = setTimeout(() => stop(), NEW_RECORD_WAIT_MS)
  const stop = () => {
    watcher.disconnect()
    clearTimeout(timer)
  }
  watcher.observe(main, { childList: true, subtree: true })
  location.hash = hash
}

/**
 * Listen for the shortcuts on `document`; returns a function that stops listening.
 * @param {{signedIn: () => boolean}} app
 */
export function installShortcuts ({ signedIn }) {
  /** @param {KeyboardEvent} event */
  const onKeyDown = (event) => {
    if (event.defaultPrevented || event.isComposing || !signedIn()) return
    const mod = event.ctrlKey || event.metaKey
    if (mod && !event.altKey && !event.shiftKey && event.key.toLowerCase() === 'k') {
      event.preventDefault()
      openPalette()
      return
    }
    if (mod || event.altKey || typingIn(event.target)) return
    if (event.key === '/') {
      const search = document.querySelector('main input[type="search"]')
      if (search instanceof HTMLInputElement) {
        event.preventDefault()
        search.focus()
        search.select()
      }
    } else if (event.key === 'n' || event.key === 'N') {
      const create = document.querySelector(NEW_RECORD)
      const collection = document.querySelector('#sidebar a[aria-current="page"]')?.getAttribute('href')
      if (create instanceof HTMLButtonElement && !create.disabled) {
        event.preventDefault()
        create.click()
      } else if (location.hash.startsWith('#/records/') && collection && canEdit()) {
        event.preventDefault()
        newRecordIn(collection)
      }
    }
  }
  document.addEventListener('keydown', onKeyDown)
  return () => document.removeEventListener('keydown', onKeyDown)
}
