// The CSV import page's pure parts (import-mapping.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cellHints, count, guessMapping, headerCells, importHref, mappedTwice, ndjsonLines } from '../src/import-mapping.js'

/** @type {import('../src/types.js').FieldSpec[]} */
const FIELDS = [
  { key: 'name', label: 'Full name', type: 'text' },
  { key: 'rate', label: 'Rate', type: 'decimal' },
  { key: 'old', label: 'Old', type: 'text', archived: true },
  { key: 'email', label: 'E-mail', type: 'email' }
]

test('the header: a BOM dropped, commas or semicolons, quotes', () => {
  assert.deepEqual(headerCells('\uFEFFName,Rate\r\nAda,1'), ['Name', 'Rate'])
  assert.deepEqual(headerCells('Name;Rate;"a,b"\nx;y;z'), ['Name', 'Rate', 'a,b'])
  assert.deepEqual(headerCells('"Say ""hi""", "x;y" ,Last\n'), ['Say "hi"', '"x;y"', 'Last'])
  assert.deepEqual(headerCells('"two\nlines",b\n'), ['two\nlines', 'b'])
  assert.deepEqual(headerCells('a "b" c,<img src="x">\n'), ['a "b" c', '<img src="x">'])
  assert.deepEqual(headerCells(''), [])
  assert.deepEqual(headerCells('\r\nName'), [])
})

test('columns are matched to fields by label or key, ignoring case and spaces, each field once', () => {
  assert.deepEqual(guessMapping(['FULL NAME', 'rate', 'Old', 'Name', 'Other'], FIELDS),
    { 'FULL NAME': 'name', rate: 'rate', Old: null, Name: null, Other: null })
  assert.deepEqual(guessMapping(['e-mail'], FIELDS), { 'e-mail': 'email' })
})

test('a field chosen twice is named', () => {
  assert.deepEqual(mappedTwice({ a: 'name', b: 'name', c: null, d: 'rate' }), ['name'])
  assert.deepEqual(mappedTwice({ a: 'name', b: null }), [])
})

test('the import address carries the chosen columns only', () => {
  const href = importHref('people & co', { A: 'name', B: null }, 'commit', 'refuse')
  const url = new URL(href, 'http://x')
  assert.equal(url.pathname, '/api/collections/people%20%26%20co/import')
  assert.equal(url.searchParams.get('mode'), 'commit')
  assert.equal(url.searchParams.get('on_error'), 'refuse')
  assert.deepEqual(JSON.parse(/** @type {string} */ (url.searchParams.get('mapping'))), { A: 'name' })
})

test('progress lines are read as they complete, the rest kept for the next chunk', () => {
  assert.deepEqual(ndjsonLines('{"done":0,"total":2}\n{"do'), { items: [{ done: 0, total: 2 }], rest: '{"do' })
  assert.deepEqual(ndjsonLines('{"created":2}\n'), { items: [{ created: 2 }], rest: '' })
  assert.deepEqual(ndjsonLines(''), { items: [], rest: '' })
})

test('numbers with their nouns', () => {
  assert.equal(count(1, 'record'), '1 record')
  assert.equal(count(9998, 'record'), '9,998 records')
  assert.equal(count(0, 'row has', 'rows have'), '0 rows have')
})

test('the cells whose format cannot be guessed are explained, the others not', () => {
  const hints = cellHints([
    { key: 'name', label: 'Name', type: 'text' },
    { key: 'project', label: 'Project', type: 'link', target: 'projects' },
    { key: 'teams', label: 'Teams', type: 'link', target: 'teams', many: true },
    { key: 'owner', label: 'Owner', type: 'person' },
    { key: 'tags', label: 'Tags', type: 'multiselect', options: ['a'] },
    { key: 'old', label: 'Old', type: 'date', archived: true }
  ], { projects: 'Projects' })
  assert.deepEqual(hints, [
    'Project: the title of a record of Projects (in any case), or its id when several have that title.',
    'Teams: the title of a record of teams (in any case), or its id when several have that title; several separated by “;”.',
    "Owner: the person's email address.",
    'Tags: options separated by “;”.'
  ])
})
