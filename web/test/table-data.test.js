// The table's window onto a cursor-paged list, and what feed events do to it (table-data.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RowWindow } from '../src/table-data.js'

const BOB = { id: 'u2', name: 'Bob' }
/** @param {string} id @returns {import('../src/types.js').RecordData} */
const record = (id) => ({ id, fields: { name: id }, created_at: 't0', created_by: null, updated_at: 't0', updated_by: null })

/** A server of `n` records r0…r(n-1), paged by a cursor that is the index to start at. */
const server = (/** @type {number} */ n, /** @type {number} */ size) => {
  const all = Array.from({ length: n }, (_, i) => record(`r${i}`))
  return (/** @type {string | null} */ cursor) => {
    const start = cursor === null ? 0 : Number(cursor)
    const end = Math.min(n, start + size)
    return { records: all.slice(start, end), total: n, next_cursor: end < n ? String(end) : null }
  }
}

/** Read what rows first..last need, page by page, as table-page.js does. */
const fill = (/** @type {RowWindow} */ rows, /** @type {(c: string | null) => any} */ read, /** @type {number} */ first, /** @type {number} */ last) => {
  let asked = 0
  for (let want = rows.wanted(first, last); want; want = rows.wanted(first, last)) {
    assert.equal(rows.accept(want.page, want.cursor, read(want.cursor)), true)
    rows.evict(rows.locate(first)?.page ?? 0)
    asked += 1
  }
  return asked
}

test('the first page, then the chain up to the rows in view', () => {
  const rows = new RowWindow({ pageSize: 10, maxPages: 3 })
  const read = server(95, 10)
  assert.deepEqual(rows.wanted(0, 5), { page: 0, cursor: null })
  assert.equal(fill(rows, read, 0, 5), 1)
  assert.equal(rows.total, 95)
  assert.equal(rows.rowAt(3)?.id, 'r3')
  assert.equal(rows.rowAt(42), null) // not reached yet: a placeholder
  // Scrolling to the end walks the chain; the last record is reachable.
  assert.equal(fill(rows, read, 88, 94), 9)
  assert.equal(rows.rowAt(94)?.id, 'r94')
  assert.equal(rows.wanted(88, 200), null) // nothing after the last page
})

test('memory stays bounded: far pages are dropped and read again with their own cursor', () => {
  const rows = new RowWindow({ pageSize: 10, maxPages: 3 })
  const read = server(1000, 10)
  fill(rows, read, 990, 999)
  assert.ok(rows.loadedRows <= 30)
  assert.equal(rows.rowAt(5), null)
  assert.deepEqual(rows.wanted(0, 5), { page: 0, cursor: null })
  assert.equal(fill(rows, read, 500, 505), 1) // one request, not fifty
  assert.equal(rows.rowAt(503)?.id, 'r503')
})

test('an answer for a chain that changed meanwhile is refused', () => {
  const rows = new RowWindow({ pageSize: 10 })
  assert.equal(rows.accept(0, 'elsewhere', server(5, 10)(null)), false)
  assert.equal(rows.accept(3, null, server(5, 10)(null)), false)
})

test('a page read again that ends elsewhere forgets the pages after it', () => {
  const rows = new RowWindow({ pageSize: 10 })
  fill(rows, server(30, 10), 0, 29)
  assert.equal(rows.pages.length, 3)
  rows.markStale()
  assert.deepEqual(rows.wanted(0, 3), { page: 0, cursor: null })
  rows.accept(0, null, { records: [record('x')], total: 31, next_cursor: '9' })
  assert.equal(rows.pages.length, 1)
  assert.deepEqual(rows.wanted(0, 15), { page: 1, cursor: '9' })
})

test('plain view: a new record goes on top once, a deleted one leaves, an edit updates in place', () => {
  const rows = new RowWindow({ pageSize: 10 })
  fill(rows, server(20, 10), 0, 19)
  const created = { record: 'new', at: 't1', by: BOB, fields: { name: 'New' } }
  assert.equal(rows.apply('record.created', created, true), 'draw')
  assert.equal(rows.apply('record.created', created, true), 'none')
  assert.equal(rows.total, 21)
  assert.equal(rows.rowAt(0)?.id, 'new')
  assert.equal(rows.rowAt(20)?.id, 'r19')
  assert.equal(rows.apply('record.updated', { record: 'r15', at: 't2', by: BOB, fields: { name: 'x'.repeat(300) } }, true), 'draw')
  const edited = rows.rowAt(16)
  assert.equal(edited?.id, 'r15')
  assert.equal(edited?.updated_by, BOB)
  assert.equal(edited?.fields.name.length, 201) // shortened as the list API shortens
  assert.equal(rows.apply('record.deleted', { record: 'r0', at: 't3', by: BOB }, true), 'draw')
  assert.equal(rows.total, 20)
  assert.equal(rows.rowAt(1)?.id, 'r1')
  assert.equal(rows.apply('record.conflicts', { record: 'r1', at: 't4', by: null, fields: { open_conflicts: 2 } }, true), 'draw')
  assert.equal(rows.rowAt(1)?.open_conflicts, 2)
  assert.equal(rows.apply('record.updated', { record: 'unknown', at: 't', by: null, fields: {} }, true), 'none')
})

test('filtered or sorted: only the server knows where records that come or go belong', () => {
  const rows = new RowWindow({ pageSize: 10 })
  fill(rows, server(20, 10), 0, 9)
  assert.equal(rows.apply('record.created', { record: 'n', at: 't', by: null, fields: {} }, false), 'refresh')
  assert.equal(rows.apply('record.deleted', { record: 'elsewhere', at: 't', by: null }, false), 'refresh')
  assert.equal(rows.apply('record.restored', { record: 'r1', at: 't', by: null }, true), 'refresh')
  assert.equal(rows.apply('record.deleted', { record: 'r1', at: 't', by: null }, false), 'draw')
  assert.equal(rows.total, 19)
})

test('plain view: a record deleted out of the pages held shrinks the total and marks them for reading', () => {
  const rows = new RowWindow({ pageSize: 10 })
  fill(rows, server(20, 10), 0, 9)
  assert.equal(rows.apply('record.deleted', { record: 'r15', at: 't', by: null }, true), 'draw')
  assert.equal(rows.total, 19)
  assert.deepEqual(rows.wanted(0, 3), { page: 0, cursor: null })
})

test('an estimated total is said to be one, and the end of the chain gives the true one', () => {
  const rows = new RowWindow({ pageSize: 2 })
  assert.equal(rows.accept(0, null, { records: [record('a'), record('b')], total: 10, total_is_estimate: true, next_cursor: '2' }), true)
  assert.deepEqual([rows.total, rows.estimate], [10, true])
  rows.wanted(0, 3) // the chain grows by the next page
  assert.equal(rows.accept(1, '2', { records: [record('c')], total: 10, total_is_estimate: true, next_cursor: null }), true)
  assert.deepEqual([rows.total, rows.estimate], [3, false])
})

test('an estimate never counts fewer rows than were read', () => {
  const rows = new RowWindow({ pageSize: 2 })
  rows.accept(0, null, { records: [record('a'), record('b')], total: 1, total_is_estimate: true, next_cursor: '2' })
  assert.equal(rows.total, 3)
})
