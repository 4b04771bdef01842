// Who is signed in in this tab.
//
// The cookie authenticates HTTP; the token is kept for the WebSocket's `?token=` parameter, since the
// y-websocket client cannot set headers. sessionStorage (not localStorage) keeps it to this tab and lets a
// reload reconnect without signing in again. A tab opened later has the cookie but no token: the
// WebSocket handshake then carries the cookie, which the server accepts as well.

const TOKEN_KEY = 'collab.token'

let token = sessionStorage.getItem(TOKEN_KEY)
/** @type {{id: string, email: string, name: string, role: string, tenant: string, color?: string} | null} */
let user = null

export const currentUser = () => user
export const currentToken = () => token
export const canEdit = () => user !== null && user.role !== 'viewer'
export const isAdmin = () => user !== null && user.role === 'admin'

export function signedIn (newUser, newToken = token) {
  user = newUser
  token = newToken
  if (token) sessionStorage.setItem(TOKEN_KEY, token)
}

/** Forget the user in this tab, and everything this tab kept in sessionStorage. */
export function signedOut () {
  user = null
  token = null
  sessionStorage.clear()
}
