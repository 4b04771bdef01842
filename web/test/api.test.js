// The one HTTP client (api.js), against a stand-in for fetch: errors, the 401 handler, query strings.
import { afterEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import * as api from '../src/api.js'

const realFetch = globalThis.fetch
/** @type {Array<{path: string, init: RequestInit}>} */
let calls = []
/** Answer every call with `status` and `body` (a JSON value, or a string sent as it is). */
function answer (/** @type {number} */ status, /** @type {unknown} */ body = null) {
  calls = []
  globalThis.fetch = async (path, init = {}) => {
    calls.push({ path: String(path), init })
    const text = typeof body === 'string' ? body : JSON.stringify(body)
    return new Response(status === 204 ? null : text, { status })
  }
}
afterEach(() => {
  globalThis.fetch = realFetch
  api.setUnauthorizedHandler(() => {})
})

test('every call sends the cookie and JSON, and returns the JSON answer', async () => {
  answer(201, { id: 'r1' })
  assert.deepEqual(await api.createRecord('customers', { name: 'A' }), { id: 'r1' })
  assert.equal(calls[0].path, '/api/records')
  assert.equal(calls[0].init.method, 'POST')
  assert.equal(calls[0].init.credentials, 'same-origin')
  assert.deepEqual(calls[0].init.headers, { 'Content-Type': 'application/json' })
  assert.equal(calls[0].init.body, JSON.stringify({ collection: 'customers', fields: { name: 'A' } }))
})

test("a failure is an ApiError with the server's message and body", async () => {
  answer(422, { error: 'invalid', message: 'Bad fields', fields: { name: 'required' } })
  const error = await api.createRecord('customers', {}).catch((e) => e)
  assert.ok(error instanceof api.ApiError)
  assert.equal(error.status, 422)
  assert.equal(error.message, 'Bad fields')
  assert.deepEqual(error.body.fields, { name: 'required' })
  assert.equal(error.offline, false)
})

test('an answer that is not JSON (a proxy page) still gives an ApiError', async () => {
  answer(502, '<html>Bad gateway</html>')
  const error = await api.listCollections().catch((e) => e)
  assert.equal(error.status, 502)
  assert.equal(error.message, 'HTTP 502')
})

test('no answer at all is offline', async () => {
  globalThis.fetch = async () => { throw new TypeError('Failed to fetch') }
  const error = await api.me().catch((e) => e)
  assert.equal(error.status, 0)
  assert.equal(error.offline, true)
})

test('a 401 anywhere but signing in and out tells the app, snapshots included', async () => {
  /** @type {api.ApiError[]} */
  const told = []
  api.setUnauthorizedHandler((error) => told.push(error))
  answer(401, { error: 'unauthorized', message: 'Sign in' })
  await assert.rejects(api.listSnapshots('r1'))
  await assert.rejects(api.takeSnapshot('r1'))
  await assert.rejects(api.history('r1'))
  assert.equal(told.length, 3)
  await assert.rejects(api.login('default', 'a@b.c', 'wrong'))
  await assert.rejects(api.logout())
  assert.equal(told.length, 3)
})

test('204 No Content answers null', async () => {
  answer(204)
  assert.equal(await api.deleteRecord('r1'), null)
})

test('paths and query strings', async () => {
  answer(200, { snapshots: [], next_before: null, changes: [], entries: [], records: [] })
  await api.listSnapshots('a/b')
  await api.listSnapshots('r1', 5)
  await api.compareSnapshot('r1', 3)
  await api.restoreSnapshot('r1', 3)
  await api.history('r1', null)
  await api.history('r1', 7)
  await api.auditLog(null, 100)
  await api.listRecords('customers', '  ann ')
  assert.deepEqual(calls.map((call) => `${call.init.method} ${call.path}`), [
    'GET /api/records/a%2Fb/snapshots',
    'GET /api/records/r1/snapshots?before=5',
    'GET /api/records/r1/snapshots/3/compare?with=now',
    'POST /api/records/r1/snapshots/3/restore',
    'GET /api/records/r1/history',
    'GET /api/records/r1/history?before=7',
    'GET /api/admin/audit?limit=100',
    'GET /api/records?collection=customers&q=ann'
  ])
})

test('no module but api.js calls fetch', () => {
  const src = new URL('../src/', import.meta.url)
  // sw.js, the service worker, fetches the app shell's files, never the API.
  const callers = readdirSync(src).filter((name) => name.endsWith('.js') && name !== 'api.js' && name !== 'sw.js' &&
    /\bfetch\s*\(/.test(readFileSync(new URL(name, src), 'utf8')))
  assert.deepEqual(callers, [])
})
