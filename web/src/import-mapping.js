// The pure parts of the CSV import page (import-page.js): the file's column names read from its first
// line, the guessed column → field mapping, the import's address, and NDJSON progress split into lines.
// The server reads the whole file (collab/records/csv_values.py); the browser only needs the header.

/** @typedef {import('./types.js').FieldSpec} FieldSpec */

/**
 * The column names on the first line of a CSV text (a UTF-8 BOM dropped; `,` or `;` between cells, whichever
 * splits the line into more cells, as the server decides; quoted names may hold either, and quotes as "").
 * @param {string} text the start of the file
 * @returns {string[]}
 */
export function headerCells (text) {
  const body = text.replace(/^\uFEFF/, '')
  const byComma = firstRecord(body, ',')
  const bySemicolon = firstRecord(body, ';')
  const cells = bySemicolon.length > byComma.length ? bySemicolon : byComma
  return cells.map((cell) => cell.trim())
}

/** @param {string} text @param {string} delimiter @returns {string[]} */
function firstRecord (text, delimiter) {
  const cells = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++ } else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"' && cell === '') {
      quoted = true // only at a cell's start, as Python's csv reads it: elsewhere a quote is a character
    } else if (c === delimiter) {
      cells.push(cell)
      cell = ''
    } else if (c === '\n' || c === '\r') {
      break
    } else {
      cell += c
    }
  }
  cells.push(cell)
  return cells.length === 1 && cells[0] === '' ? [] : cells
}

/** @param {string} name */
const folded = (name) => name.replace(/\s+/g, '').toLowerCase()

/**
 * Each column's field: the one whose label or key it names (ignoring case and spaces), each field once;
 * null means "ignore". Archived fields take no values.
 * @param {string[]} headers @param {FieldSpec[]} fields
 * @returns {Record<string, string | null>}
 */
export function guessMapping (headers, fields) {
  /** @type {Map<string, string>} */
  const byName = new Map()
  for (const spec of fields) {
    if (spec.archived) continue
    if (!byName.has(folded(spec.key))) byName.set(folded(spec.key), spec.key)
    if (!byName.has(folded(spec.label))) byName.set(folded(spec.label), spec.key)
  }
  /** @type {Record<string, string | null>} */
  const mapping = {}
  const used = new Set()
  for (const header of headers) {
    const key = byName.get(folded(header)) ?? null
    mapping[header] = key && !used.has(key) ? key : null
    if (key) used.add(key)
  }
  return mapping
}

/**
 * Fields chosen for more than one column (the server refuses that): their keys.
 * @param {Record<string, string | null>} mapping
 */
export function mappedTwice (mapping) {
  const seen = new Set()
  const twice = new Set()
  for (const key of Object.values(mapping)) {
    if (!key) continue
    if (seen.has(key)) twice.add(key)
    seen.add(key)
  }
  return [...twice]
}

/**
 * The address of an import (`POST`, the file as the body).
 * @param {string} collection @param {Record<string, string | null>} mapping
 * @param {'preview' | 'commit'} mode @param {'skip' | 'refuse'} onError
 */
export function importHref (collection, mapping, mode, onError) {
  const chosen = Object.fromEntries(Object.entries(mapping).filter(([, key]) => key))
  const query = new URLSearchParams({ mode, on_error: onError, mapping: JSON.stringify(chosen) })
  return `/api/collections/${encodeURIComponent(collection)}/import?${query}`
}

/**
 * Complete NDJSON lines in what arrived so far, parsed, and the unfinished rest to keep for the next chunk.
 * @param {string} buffered
 * @returns {{items: any[], rest: string}}
 */
export function ndjsonLines (buffered) {
  const parts = buffered.split('\n')
  const rest = /** @type {string} */ (parts.pop())
  return { items: parts.filter((line) => line.trim()).map((line) => JSON.parse(line)), rest }
}

/**
 * "1 record", "9,998 records": a number with its noun (`plural` when not one).
 * @param {number} n @param {string} one @param {string} [plural] default: `one` + "s"
 */
export const count = (n, one, plural = `${one}s`) => `${n.toLocaleString('en')} ${n === 1 ? one : plural}`

/**
 * What a cell must hold for the fields whose format a person cannot guess, as a sentence per field
 * (collab/records/csv_values.py reads them so): links by title or record id, people by email, lists split on ";",
 * dates and yes/no. Archived fields take no values.
 * @param {FieldSpec[]} fields
 * @param {Record<string, string>} labels collection labels by name, for a link's target
 * @returns {string[]}
 */
export function cellHints (fields, labels) {
  /** @type {string[]} */
  const hints = []
  for (const spec of fields) {
    if (spec.archived) continue
    const name = spec.label || spec.key
    if (spec.type === 'link') {
      const target = labels[spec.target ?? ''] ?? spec.target ?? ''
      hints.push(`${name}: the title of a record of ${target} (in any case), or its id when several have that title` +
        (spec.many ? '; several separated by “;”.' : '.'))
    } else if (spec.type === 'person') {
      hints.push(`${name}: the person's email address.`)
    } else if (spec.type === 'multiselect') {
      hints.push(`${name}: options separated by “;”.`)
    } else if (spec.type === 'date') {
      hints.push(`${name}: a date as YYYY-MM-DD.`)
    } else if (spec.type === 'boolean') {
      hints.push(`${name}: yes or no.`)
    }
  }
  return hints
}
