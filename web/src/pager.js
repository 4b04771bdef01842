// Paging through a list read newest first: each page names the one after it (`next_before`), and the last
// names none. Pure, so it is unit-tested (web/test/pager.test.js); paged-list.js puts it on screen.

/**
 * @template T
 * @typedef {import('./types.js').Page<T>} Page
 */

/**
 * @template T
 * @param {(before: number | null) => Promise<Page<T>>} fetchPage reads the page before `before` (null: the newest)
 */
export function pager (fetchPage) {
  /** @type {number | null} */
  let before = null
  return {
    /** The next page's items. A failed read throws and leaves the place where it was, to try again. */
    async next () {
      const page = await fetchPage(before)
      before = page.next_before ?? null
      return page.items
    },
    /** Whether there is a page after the ones read. */
    get more () { return before !== null },
    /** Start again from the newest page. */
    reset () { before = null }
  }
}

/**
 * A `fetchPage` for an API that answers a bare list of at most `size` entries, each with an id, and takes
 * `before` = the last id: a shorter page is the last one.
 * @template {{id: number}} T
 * @param {(before: number | null, size: number) => Promise<T[]>} fetchList
 * @param {number} size
 * @returns {(before: number | null) => Promise<Page<T>>}
 */
export const byLastId = (fetchList, size) => async (before) => {
  const items = await fetchList(before, size)
  return { items, next_before: items.length >= size ? items[items.length - 1].id : null }
}
