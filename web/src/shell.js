// The app shell as the service worker keeps it (sw.js): which requests it answers, which cache holds
// which version, and when a new version takes over. Pure functions, shared by the worker, the build
// (build.mjs) and their tests.
//
// A version is a hash of the shell's bytes (index.html, the stylesheet, the bundle), so it changes
// exactly when one of them does. Each version has a cache of its own, filled whole before the version
// is used and emptied when a newer one takes over: a page is always served from one version's cache,
// never from two.

/** The cache names of this app; other apps of the same origin keep theirs. */
export const CACHE_PREFIX = 'collab-shell-'

/**
 * What one build's service worker precaches: each file by the path it is requested at, and the SHA-256
 * of its bytes, which the worker checks (a file of another build must not slip into this version).
 * @typedef {{version: string, files: Array<{path: string, sha256: string}>}} Shell
 */

/** The paths of the shell: the page (index.html is served at `/`), its stylesheet and its bundle. */
export const SHELL_PATHS = ['/', '/static/app.css', '/static/dist/app.js']

/** Where the bundle's chunks go (build.mjs): the parts it loads with a dynamic import(), e.g. the table. */
export const CHUNKS_DIR = 'static/dist/chunks'

/**
 * The paths of a build's whole shell: SHELL_PATHS, then every chunk the bundle may load, read from
 * esbuild's metafile (its `outputs`, keyed by file path relative to web/), so that no chunk is missed
 * offline and none of another build is kept. Source maps are not part of it.
 * @param {string[]} outputs the metafile's output paths, e.g. `static/dist/chunks/table-page-AB12.js`
 */
export const shellPaths = (outputs) => [...SHELL_PATHS, ...outputs
  .filter((output) => output.startsWith(`${CHUNKS_DIR}/`) && output.endsWith('.js'))
  .map((output) => `/${output}`)
  .sort()]

/** @param {string} version */
export const cacheName = (version) => CACHE_PREFIX + version

/**
 * The version of a shell whose files have these SHA-256 digests (hex, in `SHELL_PATHS` order): the
 * first 16 hex digits of the SHA-256 of their concatenation.
 * @param {string[]} digests
 * @param {(text: string) => Promise<string>} sha256 hex digest of a string's UTF-8 bytes
 */
export async function shellVersion (digests, sha256) {
  return (await sha256(digests.join('\n'))).slice(0, 16)
}

/**
 * The caches a worker of `version` deletes once it has taken over: older versions of the shell.
 * @param {string[]} names every cache of the origin
 * @param {string} version
 */
export const staleCaches = (names, version) =>
  names.filter((name) => name.startsWith(CACHE_PREFIX) && name !== cacheName(version))

/**
 * The shell path the worker answers `request` with, or null: the network's, untouched. Only GETs of
 * this origin's shell paths; the API, the WebSocket and the change feed are never answered from a cache.
 * Any navigation to the page (`/`, whatever its query) gets the page.
 * @param {{method: string, url: string}} request
 * @param {string} origin the worker's
 * @param {string[]} [paths] the build's shell (`shellPaths`: chunks included)
 */
export function shellPathOf ({ method, url }, origin, paths = SHELL_PATHS) {
  if (method !== 'GET') return null
  const parsed = new URL(url)
  if (parsed.origin !== origin) return null
  return paths.includes(parsed.pathname) ? parsed.pathname : null
}

/** What a page sends the waiting worker, asking it to take over (shell-update.js). */
export const TAKE_OVER = 'collab:take-over'

/**
 * Whether the waiting (newer) version takes over now, asked by a page that has just loaded, before it
 * showed anything: only when that page is the only one open (`openPages` counts it), so that no page
 * in use is left running files of a version whose cache is gone. Otherwise the new version waits for a
 * load when the others are closed.
 * @param {number} openPages
 */
export const handOver = (openPages) => openPages <= 1
