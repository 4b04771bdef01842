// The words for values, people, conflicts and notices (wording.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { conflictWords, describeNotice, nameOf, originWords, shown } from '../src/wording.js'

test('values', () => {
  assert.equal(shown(null, 10), '(empty)')
  assert.equal(shown(undefined, 10), '(empty)')
  assert.equal(shown('', 10), '(empty)')
  assert.equal(shown(true, 10), 'yes')
  assert.equal(shown(false, 10), 'no')
  assert.equal(shown(0, 10), '0')
  assert.equal(shown({ a: 1 }, 10), '{"a":1}')
  assert.equal(shown('abcdef', 3), 'abc…')
  assert.equal(shown('abc', 3), 'abc')
})

test('people', () => {
  assert.equal(nameOf({ id: '1', name: 'Ann', email: 'ann@example.com' }, 'someone'), 'Ann')
  assert.equal(nameOf({ id: '1', name: '', email: 'ann@example.com' }, 'someone'), 'ann@example.com')
  assert.equal(nameOf(null, 'the server'), 'the server')
})

test('origins and conflicts', () => {
  assert.equal(originWords('api'), ' (through the API)')
  assert.equal(originWords('restore'), ' (put back)')
  assert.equal(originWords('live'), '')
  const change = {
    id: 1, at: 't', user: null, field: 'name', before: 'a', after: 'b', origin: 'live', conflict: true,
    winner: { value: 'b', user: { id: '1', name: 'Ann' } },
    lost: { value: 'c', user: { id: '2', name: 'Bob' } }
  }
  assert.equal(conflictWords(change, 10), "Conflict: Bob set c at the same time; Ann's b was kept.")
})

test('notices', () => {
  assert.equal(describeNotice({ kind: 'corrected', fields: { age: 'a number', name: 'at most 5 characters' } }),
    'The server corrected a value that does not fit — age: a number; name: at most 5 characters')
  assert.equal(describeNotice({ kind: 'something-new' }), null)
  assert.equal(describeNotice({ kind: 'corrected', fields: null }), null)
  assert.equal(describeNotice(null), null)
  assert.equal(describeNotice('corrected'), null)
})
