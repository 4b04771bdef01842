// collab's browser app: a hash router over three views (sign in, record list, record editor).
//
// Each navigation gets an AbortController; the view it starts registers its teardown (closing the
// WebSocket, removing listeners) on that signal, and the next navigation aborts it. A view that is
// still loading when the user moves on sees the aborted signal and renders nothing.
import * as api from './api.js'
import { h, mount } from './dom.js'
import { showEditor } from './editor.js'
import { showLogin } from './login.js'
import { showRecords } from './records.js'
import { currentUser, signedIn, signedOut } from './session.js'

// The one collection this first version lists; the full app will let the user pick.
const HOME = { collection: 'customers', newRecord: { name: 'New customer' } }

const main = document.getElementById('app')
const account = document.getElementById('account')
let navigation = new AbortController()

async function route () {
  navigation.abort()
  navigation = new AbortController()
  const { signal } = navigation
  try {
    if (!currentUser()) {
      // The cookie may still hold a session (a reload, another tab): ask the server before asking the user.
      try {
        signedIn(await api.me())
      } catch (error) {
        if (error.status !== 401) throw error
        signedOut()
      }
    }
    if (signal.aborted) return
    showAccount()
    if (!currentUser()) {
      showLogin(main, route)
      return
    }
    const record = location.hash.match(/^#\/records\/([^/]+)$/)
    if (record) await showEditor(main, decodeURIComponent(record[1]), signal)
    else await showRecords(main, HOME, signal)
  } catch (error) {
    if (signal.aborted) return
    if (error.status === 401) {
      signedOut() // the session was revoked or expired meanwhile
      route()
      return
    }
    mount(main, h('p', { class: 'problem', role: 'alert' },
      error.status === 404 ? 'Not found.' : `Something went wrong: ${error.message}`),
    h('p', {}, h('a', { href: '#/' }, 'Back to the list')))
  }
}

function showAccount () {
  const user = currentUser()
  if (!user) {
    account.replaceChildren()
    return
  }
  const signOut = async () => {
    try {
      await api.logout()
    } finally {
      signedOut()
      route()
    }
  }
  account.replaceChildren(
    h('span', { class: 'who', 'data-testid': 'current-user' }, user.name || user.email),
    h('button', { type: 'button', class: 'secondary', onclick: signOut }, 'Sign out'))
}

window.addEventListener('hashchange', route)
route()
