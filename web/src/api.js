// The server's JSON API. The HttpOnly session cookie set at login authenticates every call, so no token
// is handled here; `credentials: 'same-origin'` says so explicitly.

/** A non-2xx answer; `status` and the server's `{error, message, fields}` body are kept for the caller. */
export class ApiError extends Error {
  constructor (status, body) {
    super(body?.message ?? `HTTP ${status}`)
    this.name = 'ApiError'
    this.status = status
    this.body = body
  }
}

async function request (method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  // Every error body is JSON, but a proxy in front of the server may answer with HTML: don't trip on it.
  const data = response.status === 204 ? null : await response.json().catch(() => null)
  if (!response.ok) throw new ApiError(response.status, data)
  return data
}

const query = (params) => new URLSearchParams(params).toString()

/** → {token, user: {id, email, name, role, tenant}} */
export const login = (tenant, email, password) => request('POST', '/api/auth/login', { tenant, email, password })
export const logout = () => request('POST', '/api/auth/logout')
export const me = async () => (await request('GET', '/api/auth/me')).user

export const listCollections = async () => (await request('GET', '/api/collections')).collections
export const listRecords = async (collection) =>
  (await request('GET', `/api/records?${query({ collection })}`)).records
export const getRecord = (id) => request('GET', `/api/records/${encodeURIComponent(id)}`)
export const createRecord = (collection, fields) => request('POST', '/api/records', { collection, fields })
