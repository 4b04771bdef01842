import { test } from 'node:test'
import assert from 'node:assert/strict'
import { slugOf } from '../src/register.js'

test('a slug is proposed from an organisation name', () => {
  assert.equal(slugOf('Panda Logistics'), 'panda-logistics')
  assert.equal(slugOf('  Café & Co — Lyon  '), 'cafe-co-lyon')
  assert.equal(slugOf('Zoë Müller GmbH'), 'zoe-muller-gmbh')
  assert.equal(slugOf('!!!'), '')
  assert.equal(slugOf('x'.repeat(100)).length, 63)
})
