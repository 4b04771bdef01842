// The sidebar: every collection the user may read, the one they are in marked (aria-current). On a wide
// screen a column beside the page; on a phone one row above it that scrolls sideways (app.css).
//
// The collections come from the server on each navigation while online, and are kept on this device
// (local-store.js), so a start without a network lists them too. The collection the user was last in is
// remembered per user, for `#/` to open there (workspace.js).
import * as api from './api.js'
import { h } from './dom.js'
import { keptCollections, rememberCollections } from './local-store.js'
import { collectionHash } from './workspace.js'

/** The window event a page sends when a collection was defined or changed: the sidebar lists them anew
 * (and a collection's table is drawn again with its new columns: main.js). */
export const COLLECTIONS_CHANGED = 'collab:collections-changed'

/** @typedef {import('./types.js').Collection} Collection */
/** @typedef {import('./types.js').User} User */

/**
 * The sidebar drawn in `nav` (index.html has it). `show` lists the collections, `mark` the current one
 * (null: a page of no collection), `load` reads them (kept here at once, then the server's).
 * @param {HTMLElement} nav
 */
export function sidebar (nav) {
  /** @type {Collection[]} */
  let collections = []
  /** @type {string | null} */
  let current = null
  let asked = 0

  const draw = () => {
    nav.hidden = collections.length === 0
    nav.replaceChildren(
      h('ul', { class: 'sidebar-list' }, ...collections.map((collection) => h('li', {},
        h('a', {
          href: collectionHash(collection.name),
          'aria-current': collection.name === current ? 'page' : null,
          'data-testid': 'sidebar-collection'
        }, collection.label)))))
    // On a phone the row scrolls sideways: bring the current one into it, without scrolling the page.
    const link = nav.querySelector('[aria-current]')
    const row = nav.firstElementChild
    if (!link || !row) return
    const [at, within] = [link.getBoundingClientRect(), row.getBoundingClientRect()]
    if (at.left < within.left || at.right > within.right) row.scrollLeft += at.left - within.left - 8
  }

  return {
    /** @param {string | null} name */
    mark (name) {
      if (name === current) return
      current = name
      draw()
    },
    /** Signed out: nothing to list. */
    clear () {
      asked++
      collections = []
      current = null
      draw()
    },
    /**
     * List what this device keeps for `user` now and the server's list once it answers (when online).
     * Resolves to the freshest list it has; never rejects (the page says what went wrong, if anything).
     * @param {User} user
     * @returns {Promise<Collection[]>}
     */
    async load (user) {
      const mine = ++asked
      collections = keptCollections(user)
      draw()
      if (!navigator.onLine) return collections
      try {
        const listed = await api.listCollections()
        if (mine !== asked) return listed
        rememberCollections(user, listed)
        collections = listed
        draw()
      } catch (error) {
        if (!error.offline && error.status !== 401) console.warn('could not list the collections', error)
      }
      return collections
    }
  }
}

// Under the user's prefix in local-store.js, so that signing out (forget) deletes it with the rest.
/** @param {User} user */
const lastKey = (user) => `collab:${user.tenant}:${user.id}:last-collection`

/** The collection the user was last in on this device. @param {User} user */
export const lastCollection = (user) => localStorage.getItem(lastKey(user))

/** @param {User} user @param {string} name */
export const rememberLastCollection = (user, name) => localStorage.setItem(lastKey(user), name)
