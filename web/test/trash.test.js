// What a deleted record's page reads from the close reason (deleted-banner.js), and what the trash page
// says about the purge (trash-page.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { deletedBy } from '../src/deleted-banner.js'
import { retentionWords } from '../src/trash-page.js'

test('a close reason names who deleted the record', () => {
  assert.equal(deletedBy('record deleted by Bob Jones'), 'Bob Jones')
  assert.equal(deletedBy('record deleted by '), '')
  assert.equal(deletedBy('record deleted'), '')
  assert.equal(deletedBy('no such record'), null)
  assert.equal(deletedBy(''), null)
  assert.equal(deletedBy(/** @type {any} */ (undefined)), null)
})

test('the purge, in words', () => {
  assert.equal(retentionWords(30), 'Deleted records are purged after 30 days.')
  assert.equal(retentionWords(1), 'Deleted records are purged after 1 day.')
  assert.equal(retentionWords(0.5), 'Deleted records are purged after 0.5 days.')
  assert.equal(retentionWords(null), 'Deleted records stay here until someone restores them.')
})
