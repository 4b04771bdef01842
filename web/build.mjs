// Builds the browser app: the bundle (static/dist/app.js), then the service worker (static/dist/sw.js)
// with this build's shell in front of it: its version (a hash of the shell's bytes) and each file's
// SHA-256. `node build.mjs --watch` rebuilds both on every change.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import * as esbuild from 'esbuild'
import { SHELL_PATHS, shellVersion } from './src/shell.js'

const watch = process.argv.includes('--watch')
/** Where each shell path's bytes are on disk. */
const FILES = { '/': 'static/index.html', '/static/app.css': 'static/app.css', '/static/dist/app.js': 'static/dist/app.js' }

/** @param {string | Buffer} bytes */
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex')

async function buildWorker () {
  const files = await Promise.all(SHELL_PATHS.map(async (path) => ({ path, sha256: sha256(await readFile(FILES[path])) })))
  const version = await shellVersion(files.map((file) => file.sha256), async (text) => sha256(text))
  await esbuild.build({
    entryPoints: ['src/sw.js'],
    bundle: true,
    format: 'iife',
    target: 'es2022',
    minify: true,
    banner: { js: `self.collabShell=${JSON.stringify({ version, files })};` },
    outfile: 'static/dist/sw.js'
  })
  console.log(`service worker: shell version ${version}`)
}

const app = {
  entryPoints: ['src/main.js'],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outfile: 'static/dist/app.js'
}

if (watch) {
  const context = await esbuild.context({
    ...app,
    plugins: [{ name: 'service-worker', setup: (build) => build.onEnd((result) => { if (!result.errors.length) return buildWorker() }) }]
  })
  await context.watch()
} else {
  await esbuild.build(app)
  await buildWorker()
}
