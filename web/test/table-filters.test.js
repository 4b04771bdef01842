// The table's view as list-API parameters (table-filters.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { defaultView, exportHref, filterCount, isPlain, listParams, toggledSort, withFieldFilter } from '../src/table-filters.js'

/** @type {import('../src/types.js').FieldSpec[]} */
const SPECS = [
  { key: 'name', label: 'Name', type: 'text' },
  { key: 'stage', label: 'Stage', type: 'select', options: ['lead', 'won'] },
  { key: 'revenue', label: 'Revenue', type: 'number' },
  { key: 'rate', label: 'Rate', type: 'decimal', scale: 2 },
  { key: 'since', label: 'Since', type: 'date' },
  { key: 'vip', label: 'VIP', type: 'boolean' },
  { key: 'tags', label: 'Tags', type: 'multiselect', options: ['a'] }
]

test('the default view asks for the newest first and nothing else', () => {
  assert.deepEqual(listParams(SPECS, defaultView()), { params: { sort: 'created_at', order: 'desc' }, problems: [] })
  assert.equal(isPlain(SPECS, defaultView()), true)
})

test('each field type maps to its own operators', () => {
  let view = defaultView()
  view = withFieldFilter(view, 'name', { contains: '  pan ' })
  view = withFieldFilter(view, 'stage', { in: ['lead', 'won'] })
  view = withFieldFilter(view, 'revenue', { gte: '10', lte: '2.5e3' })
  view = withFieldFilter(view, 'rate', { gte: '0.10' })
  view = withFieldFilter(view, 'since', { gte: '2026-01-01', lte: '2026-12-31' })
  view = withFieldFilter(view, 'vip', { is: 'false' })
  view = withFieldFilter(view, 'tags', { empty: '1' }) // not filterable on the server: left out
  view = { ...view, q: ' koala ', updatedBy: 'u1', updatedWithinDays: '7', sort: 'revenue', order: 'asc' }
  assert.deepEqual(listParams(SPECS, view), {
    params: {
      sort: 'revenue',
      order: 'asc',
      q: 'koala',
      'f.name.contains': 'pan',
      'f.stage.in': 'lead,won',
      'f.revenue.gte': '10',
      'f.revenue.lte': '2.5e3',
      'f.rate.gte': '0.10',
      'f.since.gte': '2026-01-01',
      'f.since.lte': '2026-12-31',
      'f.vip.is': 'false',
      updated_by: 'u1',
      updated_within_days: '7'
    },
    problems: []
  })
  assert.equal(isPlain(SPECS, view), false)
  assert.equal(filterCount(SPECS, view), 10)
})

test('empty / not empty works for any field the server filters', () => {
  const view = withFieldFilter(withFieldFilter(defaultView(), 'vip', { empty: '0' }), 'since', { empty: '1' })
  assert.deepEqual(listParams(SPECS, view).params, { sort: 'created_at', order: 'desc', 'f.vip.empty': '0', 'f.since.empty': '1' })
  assert.equal(isPlain(SPECS, view), false)
})

test('half-typed values are left out and named, never sent', () => {
  let view = withFieldFilter(defaultView(), 'revenue', { gte: '1e', lte: '5' })
  view = withFieldFilter(view, 'since', { gte: '2026-1' })
  view = { ...view, updatedWithinDays: '0' }
  const { params, problems } = listParams(SPECS, view)
  assert.deepEqual(params, { sort: 'created_at', order: 'desc', 'f.revenue.lte': '5' })
  assert.equal(problems.length, 3)
  assert.match(problems[0], /^Revenue: a number/)
  assert.match(problems[1], /^Since: a date/)
})

test('fields gone from the schema, and sorts by them, are dropped', () => {
  const view = { ...withFieldFilter(defaultView(), 'gone', { contains: 'x' }), sort: 'gone' }
  assert.deepEqual(listParams(SPECS, view).params, {})
})

test('a choice holding a comma cannot be sent as one choice', () => {
  const view = withFieldFilter(defaultView(), 'stage', { in: ['a,b', 'won'] })
  assert.equal(listParams(SPECS, view).params['f.stage.in'], 'won')
})

test('clearing a filter removes it from the view', () => {
  const view = withFieldFilter(withFieldFilter(defaultView(), 'name', { contains: 'x' }), 'name', { contains: '', in: [] })
  assert.deepEqual(view.fields, {})
})

test('a header click sorts ascending, then descending, then back to newest first', () => {
  let view = toggledSort(defaultView(), 'name')
  assert.deepEqual([view.sort, view.order], ['name', 'asc'])
  view = toggledSort(view, 'name')
  assert.deepEqual([view.sort, view.order], ['name', 'desc'])
  view = toggledSort(view, 'name')
  assert.deepEqual([view.sort, view.order], ['created_at', 'desc'])
  view = toggledSort(view, 'updated_at')
  assert.deepEqual([view.sort, view.order], ['updated_at', 'desc'])
})

test('the export link carries the view and the visible columns', () => {
  const href = exportHref('my people', 'csv', ['name', 'stage'], { sort: 'name', order: 'asc', 'f.name.contains': 'a&b' })
  assert.equal(href, '/api/collections/my%20people/export?format=csv&columns=name%2Cstage&sort=name&order=asc&f.name.contains=a%26b')
})
