// Importing a CSV file into a collection (`#/c/<name>/import`, editors and admins): choose a file, map
// its columns to fields (guessed from their names), preview what the server makes of every row (its
// errors per row and the first rows as they would be stored), then import, either the valid rows only or
// nothing unless every row is valid, with a progress bar fed by the server's NDJSON progress lines.
// The server does the reading and checking (`POST /api/collections/<name>/import`); the browser reads
// only the first line, for the column names. Everything from the file or the server is shown as text.
import * as api from './api.js'
import { h, mount, pageHeading } from './dom.js'
import { cellHints, count, guessMapping, headerCells, importHref, mappedTwice, ndjsonLines } from './import-mapping.js'
import { canEdit } from './session.js'
import { collectionHash, tabTitle } from './workspace.js'

/** @typedef {import('./types.js').Collection} Collection */
/** @typedef {{row: number, field: string, message: string}} RowError */
/**
 * @typedef {{ headers: string[], total_rows: number, valid_rows: number, invalid_rows: number,
 *   errors: RowError[], more_errors: number, sample: Array<{row: number, fields: Record<string, any>}> }} Preview
 */

const HEADER_BYTES = 64 * 1024

/**
 * @param {HTMLElement} root
 * @param {string} name the collection
 * @param {AbortSignal} signal
 */
export async function showImport (root, name, signal) {
  const collections = await api.listCollections()
  if (signal.aborted) return
  const collection = collections.find((c) => c.name === name)
  if (!collection) throw new api.ApiError(404, null, 'Not found.')
  document.title = tabTitle(`Import · ${collection.label}`)
  const back = h('a', { href: collectionHash(name) }, `Back to ${collection.label}`)
  const hints = cellHints(collection.fields, Object.fromEntries(collections.map((c) => [c.name, c.label])))
  if (!canEdit()) {
    mount(root, pageHeading(`Import into ${collection.label}`),
      h('p', { class: 'banner', role: 'note' }, 'Only editors and admins can import.'), h('p', {}, back))
    return
  }
  const file = h('input', { type: 'file', id: 'import-file', accept: '.csv,text/csv', 'data-testid': 'import-file' })
  const mappingBox = h('div', { class: 'import-mapping', 'data-testid': 'import-mapping' })
  const result = h('div', { class: 'import-result', 'aria-live': 'polite' })
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true })
  /** @param {string | null} message */
  const say = (message) => {
    problem.textContent = message ?? ''
    problem.hidden = !message
  }
  mount(root,
    h('p', {}, back),
    pageHeading(`Import into ${collection.label}`),
    h('p', { class: 'hint' }, 'A CSV file (UTF-8) whose first line names the columns; at most 10,000 rows.'),
    hints.length ? h('ul', { class: 'hint', 'data-testid': 'import-hints' }, ...hints.map((hint) => h('li', {}, hint))) : null,
    h('div', { class: 'field' }, h('label', { for: 'import-file' }, 'CSV file'), file),
    mappingBox, problem, result)

  file.addEventListener('change', async () => {
    say(null)
    result.replaceChildren()
    mappingBox.replaceChildren()
    const chosen = file.files?.[0]
    if (!chosen) return
    const headers = headerCells(await chosen.slice(0, HEADER_BYTES).text())
    if (signal.aborted) return
    if (!headers.length) return say('The file is empty: its first line must name the columns.')
    mappingBox.replaceChildren(...mappingForm(collection, headers, chosen, { say, result, signal }))
  })
}

/**
 * The column → field choices, the choice of what to do with invalid rows, and Preview.
 * @param {Collection} collection @param {string[]} headers @param {File} file
 * @param {{say: (message: string | null) => void, result: HTMLElement, signal: AbortSignal}} page
 */
function mappingForm (collection, headers, file, page) {
  const mapping = guessMapping(headers, collection.fields)
  const fields = collection.fields.filter((spec) => !spec.archived)
  const rows = headers.map((header, index) => {
    const id = `map-${index}`
    const select = h('select', { id, 'data-column': header },
      h('option', { value: '' }, 'Ignore'),
      ...fields.map((spec) => h('option', { value: spec.key, selected: mapping[header] === spec.key }, spec.label)))
    select.addEventListener('change', () => { mapping[header] = select.value || null })
    return h('tr', {}, h('th', { scope: 'row' }, h('label', { for: id }, header)), h('td', {}, select))
  })
  const preview = h('button', { type: 'button', 'data-testid': 'import-preview' }, 'Preview')
  preview.addEventListener('click', async () => {
    page.say(null)
    const twice = mappedTwice(mapping)
    if (twice.length) return page.say(`Each field takes one column: ${twice.map((key) => labelOf(collection, key)).join(', ')} is chosen twice.`)
    if (!Object.values(mapping).some(Boolean)) return page.say('Choose a field for at least one column.')
    preview.disabled = true
    try {
      const answer = await api.postCsv(importHref(collection.name, mapping, 'preview', 'skip'), file)
      if (!page.signal.aborted) showPreview(collection, /** @type {Preview} */ (await answer.json()), mapping, file, page)
    } catch (error) {
      page.say(`Could not preview: ${error.message}`)
    } finally {
      preview.disabled = false
    }
  })
  return [
    h('h2', {}, 'Columns'),
    h('table', { class: 'import-columns' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'CSV column'), h('th', { scope: 'col' }, 'Field'))),
      h('tbody', {}, ...rows)),
    h('p', {}, preview)
  ]
}

/**
 * The server's preview: counts, errors per row, the first rows; and the two ways to import.
 * @param {Collection} collection @param {Preview} found @param {Record<string, string | null>} mapping
 * @param {File} file @param {{say: (message: string | null) => void, result: HTMLElement, signal: AbortSignal}} page
 */
function showPreview (collection, found, mapping, file, page) {
  const keys = [...new Set(Object.values(mapping).filter((key) => key !== null))]
  const skipping = h('button', { type: 'button', 'data-testid': 'import-skip' },
    `Import ${count(found.valid_rows, 'valid row')}, skip ${count(found.invalid_rows, 'row', 'rows')}`)
  const strict = h('button', { type: 'button', class: 'secondary', 'data-testid': 'import-refuse' },
    'Import only if all are valid')
  skipping.disabled = found.valid_rows === 0
  const errors = found.errors.length
    ? h('table', { class: 'import-errors', 'data-testid': 'import-errors' },
      h('caption', {}, found.more_errors ? `The first ${found.errors.length} problems (${found.more_errors} more)` : 'Problems'),
      h('thead', {}, h('tr', {}, ...['Row', 'Field', 'Problem'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...found.errors.map((e) => h('tr', {},
        h('td', {}, String(e.row)), h('td', {}, labelOf(collection, e.field)), h('td', {}, e.message)))))
    : null
  const sample = found.sample.length
    ? h('table', { class: 'import-sample', 'data-testid': 'import-sample' },
      h('caption', {}, `The first ${found.sample.length} rows as they will be stored`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Row'), ...keys.map((key) => h('th', { scope: 'col' }, labelOf(collection, key))))),
      h('tbody', {}, ...found.sample.map((item) => h('tr', {},
        h('td', {}, String(item.row)), ...keys.map((key) => h('td', {}, shown(item.fields[key])))))))
    : null
  const start = (/** @type {'skip' | 'refuse'} */ onError) => {
    skipping.disabled = true
    strict.disabled = true
    commit(collection, mapping, file, onError, page)
  }
  skipping.addEventListener('click', () => start('skip'))
  strict.addEventListener('click', () => start('refuse'))
  page.result.replaceChildren(
    h('h2', {}, 'Preview'),
    h('p', { 'data-testid': 'import-counts' },
      `${count(found.total_rows, 'row')}: ${count(found.valid_rows, 'valid', 'valid')}, ${count(found.invalid_rows, 'with problems', 'with problems')}. ` +
      'Row 1 is the first line after the column names.'),
    ...[errors, sample].filter((table) => table !== null), h('p', { class: 'actions' }, skipping, ' ', strict))
}

/**
 * Import, showing the progress the server streams, then the outcome.
 * @param {Collection} collection @param {Record<string, string | null>} mapping @param {File} file
 * @param {'skip' | 'refuse'} onError
 * @param {{say: (message: string | null) => void, result: HTMLElement, signal: AbortSignal}} page
 */
async function commit (collection, mapping, file, onError, page) {
  const bar = h('progress', { max: 1, value: 0, 'data-testid': 'import-progress' })
  const words = h('span', { 'data-testid': 'import-progress-text' }, 'Starting…')
  const done = h('div', { 'data-testid': 'import-done' })
  page.result.append(h('h2', {}, 'Importing'), h('p', { class: 'import-bar' }, bar, ' ', words), done)
  try {
    const response = await api.postCsv(importHref(collection.name, mapping, 'commit', onError), file)
    const reader = /** @type {ReadableStream<Uint8Array>} */ (response.body).getReader()
    const decoder = new TextDecoder()
    let buffered = ''
    /** @type {any} */
    let outcome = null
    while (true) {
      const { value, done: ended } = await reader.read()
      buffered += ended ? decoder.decode() : decoder.decode(value, { stream: true })
      const { items, rest } = ndjsonLines(ended ? buffered + '\n' : buffered)
      buffered = rest
      for (const item of items) {
        if ('done' in item) {
          bar.max = Math.max(1, item.total)
          bar.value = item.done
          words.textContent = `${item.done.toLocaleString('en')} of ${count(item.total, 'record')}`
        } else {
          outcome = item
        }
      }
      if (ended) break
    }
    if (!outcome) throw new Error('the server ended the import without saying how it went')
    done.replaceChildren(...outcomeWords(collection, outcome))
  } catch (error) {
    page.say(`The import failed: ${error.message}`)
  }
}

/** @param {Collection} collection @param {any} outcome */
function outcomeWords (collection, outcome) {
  const back = h('a', { href: collectionHash(collection.name), 'data-testid': 'import-back' }, `Open ${collection.label}`)
  if (outcome.refused) {
    return [h('p', { class: 'problem', role: 'alert' },
      `Nothing was imported: ${count(outcome.invalid_rows, 'row has', 'rows have')} problems.`), h('p', {}, back)]
  }
  const skipped = outcome.skipped ? `, skipped ${count(outcome.skipped, 'row')} with problems` : ''
  return [h('p', { class: 'banner', role: 'status', 'data-testid': 'import-created' },
    `Created ${count(outcome.created, 'record')}${skipped}.`), h('p', {}, back)]
}

/** @param {Collection} collection @param {string} key */
const labelOf = (collection, key) => collection.fields.find((spec) => spec.key === key)?.label ?? key

/** A stored value as text: lists joined, booleans as words. @param {any} value @returns {string} */
function shown (value) {
  if (value === null || value === undefined) return ''
  if (Array.isArray(value)) return value.map(shown).join('; ')
  if (typeof value === 'boolean') return value ? 'Yes' : 'No'
  return typeof value === 'object' ? JSON.stringify(value) : String(value)
}
