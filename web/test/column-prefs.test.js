// One person's columns, remembered per tenant, user and collection (column-prefs.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_WIDTH, MIN_WIDTH, fitPrefs, loadPrefs, moved, prefsKey, savePrefs, toggled } from '../src/column-prefs.js'

const memory = () => {
  /** @type {Map<string, string>} */
  const items = new Map()
  return { getItem: (/** @type {string} */ key) => items.get(key) ?? null, setItem: (/** @type {string} */ key, /** @type {string} */ value) => { items.set(key, value) } }
}

test('the key names tenant, user and collection', () => {
  assert.equal(prefsKey({ tenant: 'acme', id: 'u:1' }, 'people'), 'collab.columns:acme:u%3A1:people')
  assert.notEqual(prefsKey({ tenant: 'a', id: 'u' }, 'x'), prefsKey({ tenant: 'b', id: 'u' }, 'x'))
})

test('nothing stored: the schema order, all shown', () => {
  assert.deepEqual(fitPrefs(null, ['a', 'b']), { order: ['a', 'b'], hidden: [], widths: {} })
  assert.deepEqual(fitPrefs('not json', ['a']), { order: ['a'], hidden: [], widths: {} })
})

test('stored prefs are fitted to the columns there are now', () => {
  const stored = JSON.stringify({ order: ['c', 'gone', 'a', 'a'], hidden: ['gone', 'b'], widths: { a: 5, c: 9999, b: 'x', gone: 100 } })
  assert.deepEqual(fitPrefs(stored, ['a', 'b', 'c', 'new']), {
    order: ['c', 'a', 'b', 'new'], hidden: ['b'], widths: { a: MIN_WIDTH, c: MAX_WIDTH }
  })
})

test('saved and loaded round trip; a refusing storage is survived', () => {
  const storage = memory()
  const prefs = { order: ['b', 'a'], hidden: ['a'], widths: { b: 120 } }
  savePrefs(storage, 'k', prefs)
  assert.deepEqual(loadPrefs(storage, 'k', ['a', 'b']), prefs)
  const refusing = { getItem: () => { throw new Error('no') }, setItem: () => { throw new Error('no') } }
  const warn = console.warn
  console.warn = () => {}
  try {
    savePrefs(refusing, 'k', prefs)
  } finally {
    console.warn = warn
  }
  assert.deepEqual(loadPrefs(refusing, 'k', ['a']), { order: ['a'], hidden: [], widths: {} })
})

test('moving a column skips hidden ones and stops at the ends', () => {
  const prefs = { order: ['a', 'b', 'c'], hidden: ['b'], widths: {} }
  assert.deepEqual(moved(prefs, 'c', -1).order, ['c', 'b', 'a'])
  assert.equal(moved(prefs, 'a', -1), prefs)
  assert.equal(moved(prefs, 'c', 1), prefs)
})

test('hiding and showing; the last visible column stays', () => {
  let prefs = { order: ['a', 'b'], hidden: /** @type {string[]} */ ([]), widths: {} }
  prefs = toggled(prefs, 'a', false)
  assert.deepEqual(prefs.hidden, ['a'])
  assert.equal(toggled(prefs, 'b', false), prefs)
  assert.deepEqual(toggled(prefs, 'a', true).hidden, [])
})
