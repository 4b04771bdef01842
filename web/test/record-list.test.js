// Field values as lists show them (record-list.js); what feed events do to the table: table-data.test.js.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SUMMARY_TEXT_CHARS } from '../src/constants.js'
import { summarize } from '../src/record-list.js'

test('long texts are shortened as the server shortens them in lists', () => {
  const long = 'x'.repeat(SUMMARY_TEXT_CHARS + 1)
  assert.deepEqual(summarize({ name: long, n: 3, short: 'ok' }),
    { name: 'x'.repeat(SUMMARY_TEXT_CHARS) + '…', n: 3, short: 'ok' })
  assert.deepEqual(summarize({ name: 'x'.repeat(SUMMARY_TEXT_CHARS) }), { name: 'x'.repeat(SUMMARY_TEXT_CHARS) })
  assert.deepEqual(summarize(undefined), {})
})
