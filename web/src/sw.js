// The service worker: the app shell (page, stylesheet, bundle) from a cache, so the app starts without a
// network. Served at /sw.js (scope: the whole app); built by build.mjs, which puts this build's shell
// (version and files, shell.js `Shell`) in front of it as `self.collabShell`.
//
// - install: fetch every file of this version, check each against the build's digest, keep them in
//   this version's cache. Nothing is used before the whole version is there.
// - activate: delete older versions' caches.
// - fetch: shell files from this version's cache; everything else (the API, /ws, the feed) is not
//   answered here at all, so it goes to the network as if there were no worker.
// - a new version waits (no skipWaiting while a page of the old one is in use). A page that has just
//   loaded, before it shows anything, asks it to take over; it does when that page is the only one
//   open, and the page loads again, wholly from the new cache (shell-update.js, shell.js `handOver`).
import { TAKE_OVER, cacheName, handOver, shellPathOf, staleCaches } from './shell.js'

/**
 * The parts of the worker's global scope used here (the DOM library that checks this code has none).
 * @typedef {Event & {waitUntil(promise: Promise<unknown>): void}} ExtendableEvent
 * @typedef {ExtendableEvent & {request: Request, respondWith(response: Promise<Response>): void}} FetchEvent
 * @typedef {{
 *   collabShell: import('./shell.js').Shell,
 *   registration: ServiceWorkerRegistration,
 *   clients: {matchAll(options: {type: string, includeUncontrolled: boolean}): Promise<unknown[]>},
 *   skipWaiting(): Promise<void>,
 *   location: Location,
 *   addEventListener(type: string, listener: (event: any) => void): void
 * }} WorkerScope
 */
const worker = /** @type {WorkerScope} */ (/** @type {unknown} */ (self))
const shell = worker.collabShell
const CACHE = cacheName(shell.version)
/** This build's shell paths: the page, stylesheet and bundle, and the bundle's chunks. */
const SHELL = shell.files.map((file) => file.path)

/** @param {ArrayBuffer} bytes */
async function sha256 (bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

/** Every file of this version, or none: a file of another build (a deploy meanwhile) fails the install. */
async function precache () {
  const cache = await caches.open(CACHE)
  try {
    await Promise.all(shell.files.map(async ({ path, sha256: expected }) => {
      // no-cache: revalidate with the server rather than trust the HTTP cache's copy.
      const response = await fetch(path, { cache: 'no-cache', credentials: 'same-origin' })
      if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`)
      if (await sha256(await response.clone().arrayBuffer()) !== expected) {
        throw new Error(`${path} is not the file of version ${shell.version}`)
      }
      await cache.put(path, response)
    }))
  } catch (error) {
    await caches.delete(CACHE)
    throw error // the install fails; the browser tries again at its next update check
  }
}

/** @param {Request} request @param {string} path */
async function answer (request, path) {
  const kept = await (await caches.open(CACHE)).match(path)
  return kept ?? fetch(request) // evicted by the browser: the network's, until the next install
}

worker.addEventListener('install', (/** @type {ExtendableEvent} */ event) => event.waitUntil(precache()))
worker.addEventListener('activate', (/** @type {ExtendableEvent} */ event) => event.waitUntil(
  caches.keys().then((names) => Promise.all(staleCaches(names, shell.version).map((name) => caches.delete(name))))))
// A page that has just loaded asks the waiting worker to take over (shell-update.js); it does if that
// page is the only one open, and answers whether it does.
worker.addEventListener('message', (/** @type {ExtendableEvent & MessageEvent} */ event) => {
  if (event.data !== TAKE_OVER) return // sent to the waiting worker; the active one has nothing to take
  event.waitUntil((async () => {
    const pages = await worker.clients.matchAll({ type: 'window', includeUncontrolled: true })
    const taking = handOver(pages.length)
    if (taking) await worker.skipWaiting()
    event.ports[0]?.postMessage(taking)
  })())
})
worker.addEventListener('fetch', (/** @type {FetchEvent} */ event) => {
  const path = shellPathOf(event.request, worker.location.origin, SHELL)
  if (path !== null) event.respondWith(answer(event.request, path))
})
