// Who is signed in in this tab.
//
// The app never holds the session token: the HttpOnly cookie set at sign-in authenticates every HTTP call
// and the WebSocket handshake (same origin), so a script injected into the page could not read it, and
// it never appears in a URL.

// Tabs of an earlier version kept the token here; nothing should be left to read.
sessionStorage.removeItem('collab.token')

/** @type {import('./types.js').User | null} */
let user = null

export const currentUser = () => user
export const canEdit = () => user !== null && user.role !== 'viewer'
export const isAdmin = () => user !== null && user.role === 'admin'

/** @param {import('./types.js').User} newUser */
export function signedIn (newUser) {
  user = newUser
}

/** Forget the user in this tab. */
export function signedOut () {
  user = null
}
