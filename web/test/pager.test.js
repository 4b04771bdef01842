// Paging newest first (pager.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { byLastId, pager } from '../src/pager.js'

/** A fake API over ids 1..total, newest (highest) first, `size` per page. */
function pages (/** @type {number} */ total, /** @type {number} */ size) {
  /** @type {Array<number | null>} */
  const asked = []
  const fetchPage = async (/** @type {number | null} */ before) => {
    asked.push(before)
    const top = before ?? total + 1
    const items = []
    for (let id = top - 1; id >= 1 && items.length < size; id--) items.push({ id })
    const last = items.at(-1)
    return { items, next_before: last && last.id > 1 ? last.id : null }
  }
  return { asked, fetchPage }
}

test('each page asks for what comes before the last one; the last page says so', async () => {
  const api = pages(5, 2)
  const list = pager(api.fetchPage)
  assert.deepEqual((await list.next()).map((item) => item.id), [5, 4])
  assert.equal(list.more, true)
  assert.deepEqual((await list.next()).map((item) => item.id), [3, 2])
  assert.deepEqual((await list.next()).map((item) => item.id), [1])
  assert.equal(list.more, false)
  assert.deepEqual(api.asked, [null, 4, 2])
})

test('reset starts from the newest again', async () => {
  const api = pages(5, 2)
  const list = pager(api.fetchPage)
  await list.next()
  list.reset()
  assert.equal(list.more, false)
  await list.next()
  assert.deepEqual(api.asked, [null, null])
})

test('a failed page keeps the place, so trying again asks for the same page', async () => {
  let fail = true
  const list = pager(async (before) => {
    if (before !== null && fail) throw new Error('offline')
    return { items: [before], next_before: before === null ? 10 : null }
  })
  await list.next()
  await assert.rejects(list.next(), /offline/)
  assert.equal(list.more, true)
  fail = false
  assert.deepEqual(await list.next(), [10])
})

test('byLastId: a full page goes on from its last id, a short one is the last', async () => {
  /** @type {Array<[number | null, number]>} */
  const asked = []
  const fetchPage = byLastId(async (before, size) => {
    asked.push([before, size])
    return before === null ? [{ id: 9 }, { id: 8 }] : [{ id: 7 }]
  }, 2)
  assert.deepEqual(await fetchPage(null), { items: [{ id: 9 }, { id: 8 }], next_before: 8 })
  assert.deepEqual(await fetchPage(8), { items: [{ id: 7 }], next_before: null })
  assert.deepEqual(asked, [[null, 2], [8, 2]])
  assert.deepEqual(await byLastId(async () => [], 2)(null), { items: [], next_before: null })
})
