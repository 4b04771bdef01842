// The workspace's rules (workspace.js): start collection, "New record" titles, tab titles, addresses.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { collectionHash, newRecordFields, singular, startCollection, tabTitle } from '../src/workspace.js'

const collections = [{ name: 'customers' }, { name: 'people' }]

test('the app opens where the user left, else on the first collection', () => {
  assert.equal(startCollection(collections, 'people'), 'people')
  assert.equal(startCollection(collections, null), 'customers')
  // A collection they may no longer read (or that is gone) is not where they land.
  assert.equal(startCollection(collections, 'projects'), 'customers')
  assert.equal(startCollection([], 'people'), null)
})

test('a label is made singular near enough for "New …"', () => {
  assert.equal(singular('Customers'), 'customer')
  assert.equal(singular('People'), 'person')
  assert.equal(singular('Companies'), 'company')
  assert.equal(singular('Addresses'), 'address')
  assert.equal(singular('Sales leads'), 'sales lead')
  assert.equal(singular('Staff'), 'staff')
  assert.equal(singular('Status'), 'status')
})

test('"New record" names the new record after the collection, in its title field', () => {
  assert.deepEqual(newRecordFields('Customers', 'name'), { name: 'New customer' })
  assert.deepEqual(newRecordFields('People', 'full_name'), { full_name: 'New person' })
  assert.deepEqual(newRecordFields('   ', 'name'), { name: 'New record' })
  assert.deepEqual(newRecordFields('Readings', null), {})
})

test('tab titles and addresses', () => {
  assert.equal(tabTitle('Acme Ltd'), 'Acme Ltd · collab')
  assert.equal(tabTitle(''), 'collab')
  assert.equal(tabTitle(), 'collab')
  assert.equal(collectionHash('people'), '#/c/people')
  assert.equal(collectionHash('a b'), '#/c/a%20b')
})
