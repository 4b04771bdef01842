// Times as people read them (time.js). The words come from Intl in the default locale, so the expected
// ones are made the same way: what is tested is the unit and the amount chosen.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ago, at, clock, onDate, timeProps } from '../src/time.js'

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })
const NOW = Date.parse('2026-03-03T10:42:00Z')
const before = (/** @type {number} */ seconds) => new Date(NOW - seconds * 1000).toISOString()

test('less than 45 seconds either way is just now', () => {
  assert.equal(ago(before(0), NOW), 'just now')
  assert.equal(ago(before(44), NOW), 'just now')
  assert.equal(ago(before(-44), NOW), 'just now')
})

test('each span is said in the largest unit that fits, rounded', () => {
  assert.equal(ago(before(50), NOW), relative.format(-50, 'second'))
  assert.equal(ago(before(5 * 60), NOW), relative.format(-5, 'minute'))
  assert.equal(ago(before(89 * 60), NOW), relative.format(-1, 'hour'))
  assert.equal(ago(before(3 * 3600), NOW), relative.format(-3, 'hour'))
  assert.equal(ago(before(86400), NOW), relative.format(-1, 'day'))
  assert.equal(ago(before(10 * 86400), NOW), relative.format(-1, 'week'))
  assert.equal(ago(before(40 * 86400), NOW), relative.format(-1, 'month'))
  assert.equal(ago(before(800 * 86400), NOW), relative.format(-2, 'year'))
  assert.equal(ago(before(-2 * 3600), NOW), relative.format(2, 'hour'))
})

test('dates and moments', () => {
  const iso = '2026-03-03T10:42:00Z'
  assert.equal(onDate(iso), new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' })
    .format(new Date(iso)))
  const local = new Date(iso)
  const hhmm = `${String(local.getHours()).padStart(2, '0')}:${String(local.getMinutes()).padStart(2, '0')}`
  assert.equal(at(iso), `${onDate(iso)}, ${hhmm}`)
  assert.deepEqual(timeProps(iso), { dateTime: iso, title: at(iso) })
})

test('one clock format: 24-hour, two digits each, in any locale', () => {
  assert.equal(clock(new Date(2026, 2, 3, 9, 5)), '09:05')
  assert.equal(clock(new Date(2026, 2, 3, 23, 59)), '23:59')
  assert.equal(clock(new Date(2026, 2, 3, 0, 0).toISOString()), '00:00')
})
