// Short messages at the bottom of the screen, optionally with one action ("Undo"). They stay long
// enough to read and act on, and are announced to screen readers through a live region.
import { h } from './dom.js'

const SHOWN_MS = 10_000

/** @type {HTMLElement | null} */
let region = null
function toasts () {
  if (!region) {
    region = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite', 'data-testid': 'toasts' })
    document.body.append(region)
  }
  return region
}

/**
 * @param {string} message
 * @param {{label: string, run: () => void | Promise<void>}} [action]
 */
export function toast (message, action) {
  const close = () => item.remove()
  const item = h('div', { class: 'toast', 'data-testid': 'toast' }, h('span', {}, message))
  if (action) {
    item.append(h('button', {
      type: 'button',
      class: 'secondary',
      onclick: async () => {
        close()
        await action.run()
      }
    }, action.label))
  }
  item.append(h('button', { type: 'button', class: 'plain', 'aria-label': 'Dismiss', onclick: close }, '×'))
  toasts().append(item)
  setTimeout(close, SHOWN_MS)
}

/** Remove every message, e.g. when the user signs out. */
export function clearToasts () {
  region?.replaceChildren()
}
