// collab's browser app: a hash router over its views (sign in, a collection's records at `#/c/<name>`,
// a record, your sessions, and for admins users, collections and the audit log), with the sidebar of
// collections (sidebar.js) beside them. `#/` opens the collection the user was last in (workspace.js).
// A service worker (sw.js) keeps the app itself, so it also starts without a network, as whoever last
// signed in on this device, with the records kept here.
//
// Each navigation gets an AbortController; the view it starts registers its teardown (closing the
// WebSocket and the record's IndexedDB, removing listeners) on that signal, and the next navigation
// aborts it. A view that is still loading when the user moves on sees the aborted signal and renders
// nothing.
//
// Once a page is shown, focus moves to its main heading (an h1 with tabindex -1), so keyboard and
// screen-reader users start at the new content rather than on a link of the page that went away. The
// first page of a load leaves focus to the browser; the sign-in form focuses its own first field.
import * as api from './api.js'
import { showAudit } from './audit-page.js'
import { showCollections } from './collections-page.js'
import { h, mount, pageHeading } from './dom.js'
import { showEditor } from './editor.js'
import { forget, forgetUser, keptUser, rememberUser, unsavedEdits } from './local-store.js'
import { showLogin } from './login.js'
import { sendMadeOffline } from './outbox.js'
import { showRecords } from './records.js'
import { canEdit, currentUser, isAdmin, signedIn, signedOut } from './session.js'
import { showSessions } from './sessions-page.js'
import { loadNewVersion } from './shell-update.js'
import { installShortcuts } from './shortcuts.js'
import { COLLECTIONS_CHANGED, lastCollection, rememberLastCollection, sidebar } from './sidebar.js'
import { clearToasts, toast } from './toast.js'
import { showTrash } from './trash-page.js'
import { showUsers } from './users-page.js'
import { collectionHash, startCollection, tabTitle } from './workspace.js'

// index.html has all three.
const main = /** @type {HTMLElement} */ (document.getElementById('app'))
const account = /** @type {HTMLElement} */ (document.getElementById('account'))
const collectionsNav = sidebar(/** @type {HTMLElement} */ (document.getElementById('sidebar')))
/** The collections the user may read, as the sidebar has them for this navigation. */
/** @type {Promise<import('./types.js').Collection[]>} */
let listed = Promise.resolve([])
let navigation = new AbortController()
/** @type {string | null} */
let notice = null // said on the sign-in form, e.g. why the user is there again
let sessionGone = false // we know the cookie holds no live session: don't ask the server
let firstPage = true

/**
 * The pages: an address pattern, and what shows the page (with what the pattern captured).
 * @type {Array<[RegExp, (signal: AbortSignal, ...captured: string[]) => void | Promise<void>]>}
 */
const ROUTES = [
  [/^#\/records\/([^/]+)$/, (signal, id) => showEditor(main, decodeURIComponent(id), signal,
    { onSessionEnded: sessionEnded, onCollection: (name) => collectionsNav.mark(name) })],
  [/^#\/c\/([^/]+)$/, (signal, name) => showList(decodeURIComponent(name), signal)],
  [/^#\/c\/([^/]+)\/import$/, async (signal, name) => {
    collectionsNav.mark(decodeURIComponent(name))
    const { showImport } = await import('./import-page.js') // loaded when first used
    return showImport(main, decodeURIComponent(name), signal)
  }],
  [/^#\/c\/([^/]+)\/trash$/, (signal, name) => {
    collectionsNav.mark(decodeURIComponent(name))
    return showTrash(main, decodeURIComponent(name), signal, canEdit())
  }],
  [/^#\/sessions$/, (signal) => showSessions(main, signal)],
  [/^#\/admin\/users$/, (signal) => isAdmin() ? showUsers(main, signal) : notFound()],
  [/^#\/admin\/collections$/, (signal) => isAdmin() ? showCollections(main, signal) : notFound()],
  [/^#\/admin\/audit$/, (signal) => isAdmin() ? showAudit(main, signal) : notFound()],
  [/^(#\/?)?$/, (signal) => showStart(signal)]
]

/**
 * A collection's list; the collection `#/` opens next time.
 * @param {string} name @param {AbortSignal} signal
 */
function showList (name, signal) {
  collectionsNav.mark(name)
  rememberLastCollection(/** @type {import('./types.js').User} */ (currentUser()), name)
  return showRecords(main, { collection: name }, signal)
}

/** `#/`: the list of the collection the user was last in, else the first one. @param {AbortSignal} signal */
async function showStart (signal) {
  const user = /** @type {import('./types.js').User} */ (currentUser())
  const name = startCollection(await listed, lastCollection(user))
  if (signal.aborted) return
  if (!name) {
    mount(main, pageHeading('Records'), h('p', { class: 'banner', role: 'note' }, 'There are no collections yet.'),
      isAdmin() ? h('p', {}, h('a', { href: '#/admin/collections' }, 'Create one')) : null)
    return
  }
  // The address names the collection shown, without a second navigation.
  history.replaceState(null, '', collectionHash(name))
  return showList(name, signal)
}

function notFound () {
  mount(main, h('p', { class: 'problem', role: 'alert' }, 'Not found.'),
    h('p', {}, h('a', { href: '#/' }, 'Back to the list')))
}

/**
 * Show the page the address names.
 * @param {{refresh?: boolean}} [options] `refresh`: the same page drawn again, not a navigation; focus
 *   moves only if it was lost with the old content
 */
async function route ({ refresh = false } = {}) {
  navigation.abort()
  navigation = new AbortController()
  const { signal } = navigation
  const first = firstPage
  firstPage = false
  try {
    if (!currentUser() && !sessionGone) {
      // The cookie may still hold a session (a reload, another tab): ask the server before asking the user.
      try {
        signedIn(await api.me())
      } catch (error) {
        const kept = error.offline ? keptUser() : null
        if (kept) {
          // No network (the app started from the service worker's copy): whoever signed in here last,
          // with what this device keeps for them. The server is asked again once it is reachable.
          signedIn(kept)
        } else {
          if (error.status !== 401) throw error
          forgetUser()
          signedOut()
        }
      }
    }
    if (signal.aborted) return
    showAccount()
    document.title = tabTitle() // the page shown names itself once it knows what it shows
    const user = currentUser()
    if (user) {
      rememberUser(user)
      sendOutbox(user)
      collectionsNav.mark(null)
      listed = collectionsNav.load(user)
    }
    if (!user) {
      collectionsNav.clear()
      showLogin(main, route, notice)
      notice = null
      return
    }
    const found = ROUTES.find(([pattern]) => pattern.test(location.hash))
    if (found) await found[1](signal, ...(location.hash.match(found[0]) ?? []).slice(1))
    else notFound()
  } catch (error) {
    if (signal.aborted || error.status === 401) return // a 401 has sent the user to sign in already
    mount(main, h('p', { class: 'problem', role: 'alert' },
      error.status === 404 ? 'Not found.' : `Something went wrong: ${error.message}`),
    h('p', {}, h('a', { href: '#/' }, 'Back to the list')))
  }
  if (signal.aborted || first) return
  const lost = !document.activeElement || document.activeElement === document.body
  if (!refresh || lost) main.querySelector('h1')?.focus()
}

/**
 * Records made offline go to the server once it may be reachable; the open record's page sends its own.
 * @param {import('./types.js').User} user
 */
function sendOutbox (user) {
  if (!navigator.onLine) return
  const open = location.hash.match(/^#\/records\/([^/]+)$/)
  sendMadeOffline(user, open ? decodeURIComponent(open[1]) : null)
    .catch((error) => console.warn('records made offline could not be sent yet', error))
}

/** The server ended this session (revoked on another device, expired): back to the sign-in form. */
function sessionEnded () {
  if (!currentUser()) return
  // What this device keeps for the user stays: if they sign in again, unsaved edits are still sent.
  // Only a start without a network no longer counts them as signed in.
  forgetUser()
  signedOut()
  clearToasts()
  sessionGone = true
  notice = 'Your session has ended. Sign in again.'
  route()
}

/** Sign out: end the session on the server, then forget the user on this device. */
async function signOut () {
  const user = currentUser()
  if (!user) return // the button is only shown to someone signed in
  const unsaved = await unsavedEdits(user)
  if (unsaved > 0 && !window.confirm(
    `${unsaved} of your changes have not reached the server yet. Signing out deletes them from this ` +
    'device. Sign out anyway?')) return
  navigation.abort() // closes the open record and its IndexedDB before they are deleted
  try {
    await api.logout()
  } catch (error) {
    // Offline, the session would live on in the cookie: signing out needs the server.
    if (error.status !== 401) {
      route()
      toast(error.offline ? 'You are offline: signing out needs the server. Try again when connected.'
        : `Could not sign out: ${error.message}`)
      return
    }
  }
  await forget(user)
  signedOut()
  clearToasts()
  sessionGone = true
  // The address may name one of their records: the next person starts from the list.
  history.replaceState(null, '', location.pathname)
  route()
}

function showAccount () {
  const user = currentUser()
  if (!user) {
    account.replaceChildren()
    return
  }
  /** @param {string} href @param {string} text */
  const link = (href, text) => h('a', { href, 'aria-current': here(href) ? 'page' : null }, text)
  /** @param {string} href */
  const here = (href) => location.hash === href || (href === '#/' && /^(#\/?|#\/c\/.*)?$/.test(location.hash))
  account.replaceChildren(
    h('nav', { class: 'nav', 'aria-label': 'Main' },
      link('#/', 'Records'),
      isAdmin() ? link('#/admin/users', 'Users') : null,
      isAdmin() ? link('#/admin/collections', 'Collections') : null,
      isAdmin() ? link('#/admin/audit', 'Audit log') : null,
      link('#/sessions', 'Sessions')),
    h('span', { class: 'who', 'data-testid': 'current-user' }, user.name || user.email),
    h('button', { type: 'button', class: 'secondary', onclick: signOut }, 'Sign out'))
}

api.setUnauthorizedHandler(sessionEnded)
// Ctrl/⌘+K (jump anywhere), `/` (search), `n` (new record): shortcuts.js.
installShortcuts({ signedIn: () => currentUser() !== null })
window.addEventListener('hashchange', () => route())
// A collection defined or changed (here or, as the feed says, by an admin elsewhere) is in the sidebar at
// once; a collection's table takes its columns from the schema, so it is drawn again.
window.addEventListener(COLLECTIONS_CHANGED, () => {
  const user = currentUser()
  if (!user) return
  if (/^#\/c\/[^/]+$/.test(location.hash)) route({ refresh: true })
  else listed = collectionsNav.load(user)
})
// Offline, the list shows only what this device keeps: show the server's again once it is reachable.
window.addEventListener('online', () => {
  if (!location.hash.startsWith('#/records/')) route({ refresh: true })
  else if (currentUser()) sendOutbox(/** @type {import('./types.js').User} */ (currentUser()))
})
// A newer version of the app waiting to take over is loaded instead, before anything is shown.
if (!(await loadNewVersion().catch(() => false))) route()
// The app shell, kept for starts without a network (sw.js). Without service workers (an old browser, a
// page neither on HTTPS nor on localhost) the app works as before, online only.
navigator.serviceWorker?.register('/sw.js').catch((error) => console.info('No offline start:', error.message))
