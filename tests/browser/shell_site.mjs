// A minimal site with the app's service worker, for tests/browser/test_shell_versions.py:
// `node shell_site.mjs DIR TAG` writes a page, stylesheet and bundle that say TAG, and the service worker
// built for exactly those bytes, the way web/build.mjs builds the real one.
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const web = fileURLToPath(new URL('../../web/', import.meta.url))
const esbuild = await import(join(web, 'node_modules/esbuild/lib/main.js'))
const { SHELL_PATHS, shellVersion } = await import(join(web, 'src/shell.js'))
const [dir, tag] = process.argv.slice(2)
const FILES = { '/': 'index.html', '/static/app.css': 'static/app.css', '/static/dist/app.js': 'static/dist/app.js' }

await mkdir(join(dir, 'static/dist'), { recursive: true })
await writeFile(join(dir, FILES['/']), '<!doctype html><html><head><link rel="icon" href="data:,"><link rel="stylesheet" href="/static/app.css">' +
  `<script type="module" src="/static/dist/app.js"></script></head><body>${tag}</body></html>`)
await writeFile(join(dir, FILES['/static/app.css']), `body { --tag: "${tag}" }`)
// The app's start: a newer version waiting takes over first (shell-update.js), then the page says its tag.
await esbuild.build({
  stdin: {
    contents: `import { loadNewVersion } from ${JSON.stringify(join(web, 'src/shell-update.js'))}\n` +
      `if (!(await loadNewVersion())) window.appTag = ${JSON.stringify(tag)}\n` +
      "navigator.serviceWorker.register('/sw.js')",
    resolveDir: web
  },
  bundle: true,
  format: 'esm',
  target: 'es2022',
  outfile: join(dir, FILES['/static/dist/app.js'])
})
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex')
const files = await Promise.all(SHELL_PATHS.map(async (path) => ({ path, sha256: sha256(await readFile(join(dir, FILES[path]))) })))
const version = await shellVersion(files.map((file) => file.sha256), async (text) => sha256(text))
await esbuild.build({
  entryPoints: [join(web, 'src/sw.js')],
  bundle: true,
  format: 'iife',
  target: 'es2022',
  banner: { js: `self.collabShell=${JSON.stringify({ version, files })};` },
  outfile: join(dir, 'sw.js')
})
console.log(version)
