// The server's JSON API. The HttpOnly session cookie set at login authenticates every call, so no token
// is handled here; `credentials: 'same-origin'` says so explicitly (and a same-origin fetch sends the
// Origin header the server requires for cookie-authenticated changes).

/**
 * A failed call. `status` is the HTTP status, or 0 when no answer came at all (offline, server down);
 * `body` is the server's `{error, message, fields}` when it sent one.
 */
export class ApiError extends Error {
  constructor (status, body, message = body?.message ?? `HTTP ${status}`) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.body = body
  }

  /** No answer reached us: the network or the server is down, so local data is all there is. */
  get offline () { return this.status === 0 }
}

// Called on any 401 but signing in and out: the session was revoked or expired while the page was open.
const SIGN_IN_OUT = new Set(['/api/auth/login', '/api/auth/logout'])
let onUnauthorized = () => {}
export const setUnauthorizedHandler = (handler) => { onUnauthorized = handler }

async function request (method, path, body) {
  let response
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
  } catch {
    // fetch rejects only when no HTTP answer arrived; the reason is not exposed by browsers anyway.
    throw new ApiError(0, null, 'You are offline or the server cannot be reached.')
  }
  // Every error body is JSON, but a proxy in front of the server may answer with HTML: don't trip on it.
  const data = response.status === 204 ? null : await response.json().catch(() => null)
  if (!response.ok) {
    const error = new ApiError(response.status, data)
    if (response.status === 401 && !SIGN_IN_OUT.has(path)) onUnauthorized(error)
    throw error
  }
  return data
}

const query = (params) => new URLSearchParams(
  Object.entries(params).filter(([, value]) => value !== undefined && value !== null && value !== '')
).toString()
const recordPath = (id) => `/api/records/${encodeURIComponent(id)}`

// -- signing in and sessions --------------------------------------------------------------------------
/** → {token, user: {id, email, name, role, tenant}} */
export const login = (tenant, email, password) => request('POST', '/api/auth/login', { tenant, email, password })
export const logout = () => request('POST', '/api/auth/logout')
export const me = async () => (await request('GET', '/api/auth/me')).user
/** → [{id, device, ip, created_at, last_seen_at, current}] */
export const listSessions = async () => (await request('GET', '/api/auth/sessions')).sessions
export const revokeSession = (id) => request('DELETE', `/api/auth/sessions/${encodeURIComponent(id)}`)
export const revokeOtherSessions = () => request('POST', '/api/auth/sessions/revoke-others')

// -- collections and records --------------------------------------------------------------------------
export const listCollections = async () => (await request('GET', '/api/collections')).collections
/** Admins: `{name, label, fields: [{key, label, type, options?}]}` → the collection; 409 if the name is taken. */
export const createCollection = (collection) => request('POST', '/api/collections', collection)
/** `q` searches the records' text on the server; an empty `q` lists them all. */
export const listRecords = async (collection, q = '') =>
  (await request('GET', `/api/records?${query({ collection, q: q.trim() })}`)).records
/** → {id, collection, fields, created_at, created_by: {id, name, email}, updated_at, updated_by} */
export const getRecord = (id) => request('GET', recordPath(id))
export const createRecord = (collection, fields) => request('POST', '/api/records', { collection, fields })
export const deleteRecord = (id) => request('DELETE', recordPath(id))
export const undeleteRecord = (id) => request('POST', `${recordPath(id)}/undelete`)

/** → {changes: [{id, at, user, field, before, after, origin, conflict, winner?, lost?}], next_before?} */
export const history = (id, before) => request('GET', `${recordPath(id)}/history?${query({ before })}`)
export const putBack = (id, changeId) =>
  request('POST', `${recordPath(id)}/history/${encodeURIComponent(changeId)}/restore`)

// -- administration (admins only) ---------------------------------------------------------------------
export const listUsers = async () => (await request('GET', '/api/admin/users')).users
/** → the user, with `password` once when the server generated one */
export const createUser = (user) => request('POST', '/api/admin/users', user)
export const updateUser = (id, changes) => request('PATCH', `/api/admin/users/${encodeURIComponent(id)}`, changes)
/** → [{id, at, action, actor, target, ip, detail}], newest first */
export const auditLog = async (before) => (await request('GET', `/api/admin/audit?${query({ before })}`)).entries
