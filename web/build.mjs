// Builds the browser app: the bundle (static/dist/app.js) and the chunks it loads on demand
// (static/dist/chunks/, e.g. the collection table with Lit and TanStack, which the record page never
// needs), then the service worker (static/dist/sw.js) with this build's shell in front of it: its
// version (a hash of the shell's bytes) and each file's SHA-256. The shell's files are read from
// esbuild's metafile, so every emitted chunk is in it (shell.js `shellPaths`) and none of an older build.
// `node build.mjs --watch` rebuilds both on every change.
import { createHash } from 'node:crypto'
import { readFile, readdir, rm, stat } from 'node:fs/promises'
import * as esbuild from 'esbuild'
import { CHUNKS_DIR, shellPaths, shellVersion } from './src/shell.js'

const watch = process.argv.includes('--watch')
const STALE_CHUNK_MS = 10 * 60_000
/** Where each shell path's bytes are on disk: the page is index.html, the others are where they are served. */
/** @param {string} path */
const fileOf = (path) => path === '/' ? 'static/index.html' : path.slice(1)

/** @param {string | Buffer} bytes */
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex')

/** @param {import('esbuild').Metafile} metafile */
async function buildWorker (metafile) {
  const outputs = Object.keys(metafile.outputs)
  // Chunks of earlier builds are loaded by nothing new (their names carry a hash): remove them once a
  // page still running that build has surely loaded what it needs.
  const current = new Set(outputs)
  for (const name of await readdir(CHUNKS_DIR).catch(() => [])) {
    const path = `${CHUNKS_DIR}/${name}`
    if (current.has(path)) continue
    const { mtimeMs } = await stat(path)
    if (Date.now() - mtimeMs > STALE_CHUNK_MS) await rm(path, { force: true })
  }
  const paths = shellPaths(outputs)
  const files = await Promise.all(paths.map(async (path) => ({ path, sha256: sha256(await readFile(fileOf(path))) })))
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
  console.log(`service worker: shell version ${version}, ${files.length} files`)
}

/** @type {import('esbuild').BuildOptions & {metafile: true}} */
const app = {
  entryPoints: { app: 'src/main.js' },
  bundle: true,
  splitting: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  metafile: true,
  outdir: 'static/dist',
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]'
}

if (watch) {
  const context = await esbuild.context({
    ...app,
    plugins: [{ name: 'service-worker', setup: (build) => build.onEnd((result) => { if (!result.errors.length && result.metafile) return buildWorker(result.metafile) }) }]
  })
  await context.watch()
} else {
  const result = await esbuild.build(app)
  await buildWorker(result.metafile)
}
