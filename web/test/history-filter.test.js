// The history drawer's filters (history-filter.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NO_FILTER, emptyWords, fieldChoices, historyParams, personChoices } from '../src/history-filter.js'
import { withQuery } from '../src/api.js'

test('a filter becomes the history query; an empty one asks for everything', () => {
  assert.equal(withQuery('/h', historyParams(NO_FILTER)), '/h')
  const filter = { user: 'u1', field: 'revenue', conflictsOnly: true }
  assert.equal(withQuery('/h', { ...historyParams(filter), before: 42 }), '/h?user=u1&field=revenue&conflicts=1&before=42')
  assert.equal(withQuery('/h', historyParams({ ...NO_FILTER, field: 'name' })), '/h?field=name')
})

test('people are offered once each, by name; namesakes tell their addresses', () => {
  const ann = { id: 'a', name: 'Ann', email: 'ann@example.com' }
  const otherAnn = { id: 'b', name: 'Ann', email: 'ann@other.example' }
  const bob = { id: 'c', name: '', email: 'bob@example.com' }
  assert.deepEqual(personChoices([bob, ann, otherAnn, ann]), [
    { value: '', label: 'Anyone' },
    { value: 'a', label: 'Ann (ann@example.com)' },
    { value: 'b', label: 'Ann (ann@other.example)' },
    { value: 'c', label: 'bob@example.com' }
  ])
  assert.deepEqual(personChoices([bob], 'gone').at(-1), { value: 'gone', label: 'Someone no longer listed' })
})

test('fields in the collection\'s order, after "Any field"', () => {
  assert.deepEqual(fieldChoices([{ key: 'name', label: 'Name' }, { key: 'x', label: '' }]), [
    { value: '', label: 'Any field' },
    { value: 'name', label: 'Name' },
    { value: 'x', label: 'x' }
  ])
})

test('an empty filtered history says the filters found nothing', () => {
  assert.equal(emptyWords(NO_FILTER), 'No changes yet.')
  assert.equal(emptyWords({ ...NO_FILTER, conflictsOnly: true }), 'No changes match these filters.')
})
