// The schema editor's pure parts: options typed as a list, and how the Collections page names a field's type.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { typeWords } from '../src/collections-page.js'
import { parseOptions } from '../src/schema-editor.js'

test('options: trimmed, distinct, in order, no empty ones', () => {
  assert.deepEqual(parseOptions(' new, active ,, closed, new '), ['new', 'active', 'closed'])
  assert.deepEqual(parseOptions(''), [])
})

test('type words', () => {
  assert.equal(typeWords({ key: 'a', label: 'A', type: 'text' }), 'text')
  assert.equal(typeWords({ key: 'a', label: 'A', type: 'select', options: ['x', 'y'] }), 'select (x, y)')
  assert.equal(typeWords({ key: 'a', label: 'A', type: 'decimal', scale: 2, required: true }), 'decimal (scale 2, required)')
  assert.equal(typeWords({ key: 'a', label: 'A', type: 'link', target: 'projects', many: true }), 'link (→ projects, many)')
  assert.equal(typeWords({ key: 'a', label: 'A', type: 'email', unique: true, archived: true }), 'email (unique, archived)')
})
