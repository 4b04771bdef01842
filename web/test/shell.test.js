// The app shell the service worker keeps (shell.js): versions, caches, which requests it answers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import {
  CACHE_PREFIX, SHELL_PATHS, TAKE_OVER, cacheName, handOver, shellPathOf, shellPaths, shellVersion, staleCaches
} from '../src/shell.js'

/** @param {string} text */
const sha256 = async (text) => createHash('sha256').update(text).digest('hex')
const digest = (text) => createHash('sha256').update(text).digest('hex')

test('a version is a hash of the files: any changed byte makes a new one, and its own cache', async () => {
  const files = ['<html>', 'body {}', 'console.log(1)']
  const version = await shellVersion(files.map(digest), sha256)
  assert.match(version, /^[0-9a-f]{16}$/)
  assert.equal(await shellVersion(files.map(digest), sha256), version)
  const changed = await shellVersion(['<html>', 'body {}', 'console.log(2)'].map(digest), sha256)
  assert.notEqual(changed, version)
  // Moving bytes from one file to another is a change too.
  assert.notEqual(await shellVersion(['<html>body {}', '', 'console.log(1)'].map(digest), sha256), version)
  assert.equal(cacheName(version), CACHE_PREFIX + version)
  assert.notEqual(cacheName(changed), cacheName(version))
})

test('taking over deletes the older versions, never the current one or other caches of the origin', () => {
  const names = [cacheName('old1'), cacheName('new'), 'someone-else', cacheName('old2')]
  assert.deepEqual(staleCaches(names, 'new'), [cacheName('old1'), cacheName('old2')])
  assert.deepEqual(staleCaches([cacheName('new')], 'new'), [])
})

test('only GETs of the shell paths are answered: never the API, the socket, the feed', () => {
  const origin = 'http://example.com:8000'
  /** @param {string} url @param {string} [method] */
  const path = (url, method = 'GET') => shellPathOf({ method, url }, origin)
  assert.deepEqual(SHELL_PATHS, ['/', '/static/app.css', '/static/dist/app.js'])
  assert.equal(path(`${origin}/`), '/')
  assert.equal(path(`${origin}/?next=1`), '/') // any navigation to the page
  assert.equal(path(`${origin}/static/dist/app.js`), '/static/dist/app.js')
  assert.equal(path(`${origin}/static/app.css`), '/static/app.css')
  for (const url of ['/api/auth/me', '/api/records?collection=customers', '/api/collections/customers/events',
    '/ws/abc', '/sw.js', '/static/dist/app.js.map', '/healthz', '/metrics']) {
    assert.equal(path(origin + url), null, url)
  }
  assert.equal(path(`${origin}/`, 'POST'), null)
  assert.equal(path('http://other.example/'), null)
})

test('a new version takes over at the next load, and only when no other page runs the old one', () => {
  assert.equal(handOver(1), true) // the page just loaded is the only one: it loads again, in the new version
  assert.equal(handOver(2), false) // another page is in use: both stay on the version they run
  assert.equal(TAKE_OVER, 'collab:take-over')
})

test("a build's shell is the page, stylesheet and bundle, then every chunk esbuild emitted, never a map", () => {
  const outputs = ['static/dist/app.js', 'static/dist/app.js.map', 'static/dist/chunks/table-page-B2.js',
    'static/dist/chunks/table-page-B2.js.map', 'static/dist/chunks/chunk-A1.js']
  assert.deepEqual(shellPaths(outputs), [...SHELL_PATHS, '/static/dist/chunks/chunk-A1.js', '/static/dist/chunks/table-page-B2.js'])
  assert.deepEqual(shellPaths([]), SHELL_PATHS)
})

test('the worker answers the chunks of its own build, and only those', () => {
  const origin = 'http://example.com:8000'
  const paths = shellPaths(['static/dist/chunks/table-page-B2.js'])
  const chunk = (/** @type {string} */ name) => shellPathOf({ method: 'GET', url: `${origin}/static/dist/chunks/${name}` }, origin, paths)
  assert.equal(chunk('table-page-B2.js'), '/static/dist/chunks/table-page-B2.js')
  assert.equal(chunk('table-page-OLD.js'), null)
  assert.equal(shellPathOf({ method: 'GET', url: `${origin}/static/dist/app.js` }, origin, paths), '/static/dist/app.js')
})
