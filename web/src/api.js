// The server's JSON API: the app's one HTTP client. Every call goes through `request`, so a revoked or
// expired session (401) is noticed wherever it happens, and every failure is an ApiError.
//
// The HttpOnly session cookie set at login authenticates every call, so no token is handled here;
// `credentials: 'same-origin'` says so explicitly (and a same-origin fetch sends the Origin header the
// server requires for cookie-authenticated changes).

/** @typedef {import('./types.js').Account} Account */
/** @typedef {import('./types.js').OnlinePerson} OnlinePerson */
/** @typedef {import('./types.js').AuditEntry} AuditEntry */
/** @typedef {import('./types.js').Change} Change */
/** @typedef {import('./types.js').Collection} Collection */
/** @typedef {import('./types.js').Comparison} Comparison */
/** @typedef {import('./types.js').RecordData} RecordData */
/** @typedef {import('./types.js').Person} Person */
/** @typedef {import('./types.js').Session} Session */
/** @typedef {import('./types.js').Snapshot} Snapshot */
/** @typedef {import('./types.js').User} User */

/**
 * A failed call. `status` is the HTTP status, or 0 when no answer came at all (offline, server down);
 * `body` is the server's `{error, message, fields}` when it sent one.
 */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{error?: string, message?: string, fields?: Record<string, string>} | null} body
   * @param {string} [message]
   */
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
/** @type {(error: ApiError) => void} */
let onUnauthorized = () => {}
/** @param {(error: ApiError) => void} handler */
export const setUnauthorizedHandler = (handler) => { onUnauthorized = handler }

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body] sent as JSON
 * @param {{ifMatch?: string, tagged?: boolean}} [options] `ifMatch`: the If-Match header; `tagged`: answer
 *   `{data, etag}` (the ETag header too)
 * @returns {Promise<any>} the answer's JSON, null for 204 No Content
 */
async function request (method, path, body, { ifMatch, tagged = false } = {}) {
  let response
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...(ifMatch ? { 'If-Match': ifMatch } : {}) },
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
  return tagged ? { data, etag: response.headers.get('ETag') } : data
}

/**
 * `path` with the parameters that have a value as its query string.
 * @param {string} path
 * @param {Record<string, string | number | null | undefined>} params
 */
export function withQuery (path, params) {
  const query = new URLSearchParams(Object.entries(params)
    .filter(([, value]) => value !== undefined && value !== null && value !== '')
    .map(([key, value]) => [key, String(value)])).toString()
  return query ? `${path}?${query}` : path
}
/** @param {string} id */
const recordPath = (id) => `/api/records/${encodeURIComponent(id)}`
/** @param {string} recordId @param {number} [id] */
const snapshotPath = (recordId, id) =>
  `${recordPath(recordId)}/snapshots${id === undefined ? '' : `/${encodeURIComponent(id)}`}`

// -- signing in and sessions --------------------------------------------------------------------------
/**
 * The answer also holds the token, for scripts; the page has the HttpOnly cookie and ignores it.
 * @param {string} tenant @param {string} email @param {string} password
 * @returns {Promise<{token: string, user: User}>}
 */
export const login = (tenant, email, password) => request('POST', '/api/auth/login', { tenant, email, password })
/** @returns {Promise<null>} */
export const logout = () => request('POST', '/api/auth/logout')
/** @returns {Promise<User>} */
export const me = async () => (await request('GET', '/api/auth/me')).user
/** @returns {Promise<Session[]>} */
export const listSessions = async () => (await request('GET', '/api/auth/sessions')).sessions
/** @param {string} id */
export const revokeSession = (id) => request('DELETE', `/api/auth/sessions/${encodeURIComponent(id)}`)
export const revokeOtherSessions = () => request('POST', '/api/auth/sessions/revoke-others')

// -- collections and records --------------------------------------------------------------------------
/** @returns {Promise<Collection[]>} */
export const listCollections = async () => (await request('GET', '/api/collections')).collections
/**
 * Admins: the new collection; 409 if the name is taken, 422 with a message per problem.
 * @param {Collection} collection
 * @returns {Promise<Collection>}
 */
export const createCollection = (collection) => request('POST', '/api/collections', collection)
/**
 * `q` searches the records' text on the server; an empty `q` lists them all.
 * @param {string} collection @param {string} [q]
 * @returns {Promise<RecordData[]>}
 */
export const listRecords = async (collection, q = '') =>
  (await request('GET', withQuery('/api/records', { collection, q: q.trim() }))).records
/**
 * One page of a collection's records as the table asks for it (sort, filters, `cursor`: table-filters.js).
 * @param {Record<string, string | number | null | undefined>} params `collection` included
 * @returns {Promise<{records: RecordData[], total: number, next_cursor: string | null}>}
 */
export const listPage = (params) => request('GET', withQuery('/api/records', params))
/** @param {string} id @returns {Promise<RecordData>} */
export const getRecord = (id) => request('GET', recordPath(id))
/** The record and its ETag, for a PATCH that must not overwrite a change made since. @param {string} id */
export const getTaggedRecord = (id) =>
  /** @type {Promise<{data: RecordData, etag: string | null}>} */ (request('GET', recordPath(id), undefined, { tagged: true }))
/**
 * Set field values (null clears one) if the record is still as `etag` says: 412 otherwise, 422 with
 * `fields` saying why per field, 409 for a duplicate of a unique field.
 * @param {string} id @param {Record<string, any>} fields @param {string} etag
 * @returns {Promise<{data: RecordData, etag: string | null}>}
 */
export const patchRecord = (id, fields, etag) => request('PATCH', recordPath(id), { fields }, { ifMatch: etag, tagged: true })
/**
 * Admins: a collection's label and its whole list of fields in the new order (keys never change); 422
 * with a message per problem (`fields[i]`).
 * @param {string} name @param {{label?: string, fields: import('./types.js').FieldSpec[]}} changes
 * @returns {Promise<Collection>}
 */
export const updateCollection = (name, changes) =>
  request('PATCH', `/api/collections/${encodeURIComponent(name)}`, changes)
/**
 * Up to `limit` records of `collection` whose text matches `q` (a link field's picker).
 * @param {string} collection @param {string} q @param {number} limit
 * @returns {Promise<RecordData[]>}
 */
export const searchRecords = async (collection, q, limit) =>
  (await request('GET', withQuery('/api/records', { collection, q: q.trim(), limit }))).records
/** @returns {Promise<Array<Person & {active: boolean}>>} the tenant's people by name (any member) */
export const listPeople = async () => (await request('GET', '/api/people')).people
/** @param {string} collection @param {Record<string, any>} fields @returns {Promise<RecordData>} */
export const createRecord = (collection, fields) => request('POST', '/api/records', { collection, fields })
/**
 * Create a record under the id this device chose (offline-create.js): sent again after a lost answer,
 * the server answers with the record the first attempt made (never a second one).
 * @param {string} id @param {string} collection @param {Record<string, any>} [fields]
 * @returns {Promise<RecordData>}
 */
export const createRecordWithId = (id, collection, fields) => request('POST', '/api/records', { id, collection, fields })
/** @param {string} id */
export const deleteRecord = (id) => request('DELETE', recordPath(id))
/** @param {string} id */
export const undeleteRecord = (id) => request('POST', `${recordPath(id)}/undelete`)

// -- open conflicts -----------------------------------------------------------------------------------
/**
 * The record's open conflicts, newest first.
 * @param {string} id @returns {Promise<import('./conflict-notice.js').Conflict[]>}
 */
export const recordConflicts = async (id) => (await request('GET', `${recordPath(id)}/conflicts`)).conflicts
/** Keep the value that won (editors). @param {string} id @param {number} changeId */
export const keepConflict = (id, changeId) =>
  request('POST', `${recordPath(id)}/conflicts/${encodeURIComponent(changeId)}/keep`)
/** Put the lost value back (editors). @param {string} id @param {number} changeId @returns {Promise<RecordData>} */
export const putConflictBack = (id, changeId) =>
  request('POST', `${recordPath(id)}/conflicts/${encodeURIComponent(changeId)}/put-back`)

// -- history and snapshots ----------------------------------------------------------------------------
/**
 * A page of the history, filtered (history-filter.js `historyParams`); the first page also names everyone
 * in the record's history (`people`), for the person filter.
 * @param {string} id @param {number | null} [before] @param {{user?: string, field?: string, conflicts?: string}} [filter]
 * @returns {Promise<{changes: Change[], next_before?: number | null, people?: Person[]}>}
 */
export const history = (id, before, filter = {}) =>
  request('GET', withQuery(`${recordPath(id)}/history`, { ...filter, before }))
/** @param {string} id @param {number} changeId @param {string} [comment] why, shown in the history */
export const putBack = (id, changeId, comment) =>
  request('POST', `${recordPath(id)}/history/${encodeURIComponent(changeId)}/restore`,
    comment?.trim() ? { comment } : undefined)
/**
 * @param {string} recordId @param {number | null} [before]
 * @returns {Promise<{snapshots: Snapshot[], next_before: number | null}>}
 */
export const listSnapshots = (recordId, before) => request('GET', withQuery(snapshotPath(recordId), { before }))
/** Editors and admins. @param {string} recordId @returns {Promise<Snapshot>} */
export const takeSnapshot = (recordId) => request('POST', snapshotPath(recordId))
/**
 * The snapshot next to the record as it is now.
 * @param {string} recordId @param {number} id
 * @returns {Promise<Comparison>}
 */
export const compareSnapshot = (recordId, id) =>
  request('GET', withQuery(`${snapshotPath(recordId, id)}/compare`, { with: 'now' }))
/** Admins. @param {string} recordId @param {number} id */
export const restoreSnapshot = (recordId, id) => request('POST', `${snapshotPath(recordId, id)}/restore`)

// -- administration (admins only) ---------------------------------------------------------------------
/** @returns {Promise<Account[]>} */
export const listUsers = async () => (await request('GET', '/api/admin/users')).users
/**
 * The user, with `password` once when the server generated one.
 * @param {{email: string, role: string, name?: string, password?: string}} user
 * @returns {Promise<Account>}
 */
export const createUser = (user) => request('POST', '/api/admin/users', user)
/**
 * @param {string} id @param {{role?: string, active?: boolean}} changes
 * @returns {Promise<Account>}
 */
export const updateUser = (id, changes) => request('PATCH', `/api/admin/users/${encodeURIComponent(id)}`, changes)
/** Deletes (anonymises) a user: their sessions end; history keeps "Deleted user". @param {string} id */
export const deleteUser = (id) => request('DELETE', `/api/admin/users/${encodeURIComponent(id)}`)
/** @returns {Promise<OnlinePerson[]>} who has a record open in the tenant now, earliest first */
export const whoIsOnline = async () => (await request('GET', '/api/admin/online')).people

// -- onboarding (no session needed) -------------------------------------------------------------------
/** @returns {Promise<boolean>} whether this server lets an organisation register itself */
export const registrationOpen = async () => (await request('GET', '/api/tenants/registration')).open
/**
 * @param {{name: string, slug: string, email: string, password: string, admin_name?: string}} organisation
 * @returns {Promise<{tenant: {slug: string, name: string}}>}
 */
export const registerOrganisation = (organisation) => request('POST', '/api/tenants', organisation)
/**
 * Newest first: up to `limit` entries older than the entry `before`.
 * @param {number | null} before @param {number} limit
 * @returns {Promise<AuditEntry[]>}
 */
export const auditLog = async (before, limit) =>
  (await request('GET', withQuery('/api/admin/audit', { before, limit }))).entries

// -- the trash and copies (trash-page.js, deleted-banner.js, editor.js) -------------------------------
/**
 * One page of a collection's deleted records, newest deletion first (editors and admins).
 * @param {string} collection @param {string | null} cursor the previous page's `next_cursor`
 * @returns {Promise<import('./trash-page.js').TrashPage>}
 */
export const listTrash = (collection, cursor) =>
  request('GET', withQuery(`/api/collections/${encodeURIComponent(collection)}/trash`, { cursor }))
/** A new record with the record's values (unique fields empty). @param {string} id @returns {Promise<RecordData>} */
export const duplicateRecord = (id) => request('POST', `${recordPath(id)}/duplicate`)

// -- CSV import ----------------------------------------------------------------------------------------
/**
 * Post a CSV file to a collection's import (import-page.js builds the address): the answer itself, so that
 * a commit's NDJSON progress is read as it streams. Failures are ApiErrors, as for every other call.
 * @param {string} href `/api/collections/NAME/import?...` @param {Blob} file
 * @returns {Promise<Response>}
 */
export async function postCsv (href, file) {
  let response
  try {
    response = await fetch(href, { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'text/csv' }, body: file })
  } catch {
    throw new ApiError(0, null, 'You are offline or the server cannot be reached.')
  }
  if (!response.ok) {
    const error = new ApiError(response.status, await response.json().catch(() => null))
    if (response.status === 401) onUnauthorized(error)
    throw error
  }
  return response
}
