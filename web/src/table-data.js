// The table's rows as data: a window onto a list of up to 100,000 records that the server pages by keyset
// cursor (`GET /api/records` answers `{records, total, next_cursor}`), and what change-feed events do to it.
// Pure (no DOM, no fetch), so it is unit-tested (web/test/table-data.test.js); table-page.js fetches what
// `wanted` names and hands the answers to `accept`.
//
// The list is a chain of pages: page i is read with the cursor page i-1 ended on, so a page can only be
// read once the one before it has been (the API has no offsets, by design). Each page keeps its cursor,
// its row count and where it ended even when its records are dropped to keep memory bounded (at most
// `maxPages` pages hold records: those nearest the rows in view), so scrolling back reads it again with
// its own cursor in one request. Row `i` of the table is found by adding up page counts; rows past the
// pages read so far are placeholders until the chain reaches them.
//
// Keyset cursors are positions, so they stay valid when records come and go; a page read again that
// ends somewhere else than where the next page starts means the records moved: the pages after it are
// forgotten and read again from the new end.
import { summarize } from './record-list.js'

/** @typedef {import('./types.js').RecordData} RecordData */
/** @typedef {import('./record-list.js').RecordEvent} RecordEvent */
/** @typedef {{ records: RecordData[], total: number, total_is_estimate?: boolean, next_cursor: string | null }} ListPage */

/**
 * One page of the chain: `cursor` reads it; `records` null when not read yet or dropped; `next` where it
 * ended (null: the last page; undefined: never read); `stale` when it must be read again before it can
 * be trusted (a refresh); `count` its rows, kept when the records are dropped.
 * @typedef {{ cursor: string | null, records: RecordData[] | null, next: string | null | undefined,
 *   count: number, stale: boolean }} Page
 */

/** What `apply` decided: the rows changed (draw), only the server can tell (refresh), or nothing. */
/** @typedef {'draw' | 'refresh' | 'none'} Effect */

export class RowWindow {
  /** @param {{ pageSize?: number, maxPages?: number }} [options] */
  constructor ({ pageSize = 200, maxPages = 25 } = {}) {
    this.pageSize = pageSize
    this.maxPages = maxPages
    this.total = 0
    this.estimate = false // the total is the server's estimate
    /** @type {Page[]} */
    this.pages = [{ cursor: null, records: null, next: undefined, count: 0, stale: false }]
  }

  /** How many rows hold records now (bounded by maxPages × pageSize plus live additions). */
  get loadedRows () {
    return this.pages.reduce((sum, page) => sum + (page.records ? page.records.length : 0), 0)
  }

  /**
   * The page and offset of row `index`, or null when the chain has not reached it yet.
   * @param {number} index
   * @returns {{ page: number, offset: number } | null}
   */
  locate (index) {
    let start = 0
    for (let page = 0; page < this.pages.length; page++) {
      const { count, next } = this.pages[page]
      if (next === undefined) return null // not read yet: its size is unknown
      if (index < start + count) return { page, offset: index - start }
      start += count
    }
    return null
  }

  /** The record shown at row `index`, or null (a placeholder). @param {number} index */
  rowAt (index) {
    const at = this.locate(index)
    return at ? this.pages[at.page].records?.[at.offset] ?? null : null
  }

  /**
   * The page to read next for rows `first`..`last` to show, with its cursor, or null when they all are
   * there. One at a time: the chain is read in order.
   * @param {number} first @param {number} last
   * @returns {{ page: number, cursor: string | null } | null}
   */
  wanted (first, last) {
    let start = 0
    for (let page = 0; page < this.pages.length; page++) {
      const entry = this.pages[page]
      const read = entry.next !== undefined
      const end = read ? start + entry.count : Infinity
      if (end > first && start <= last && (!entry.records || entry.stale)) return { page, cursor: entry.cursor }
      if (!read) return null // waiting for this one anyway
      start = end
      if (start > last) return null
      if (entry.next === null) return null // the last page
      if (page === this.pages.length - 1) { // the chain grows by the page after the last one read
        this.pages.push({ cursor: /** @type {string} */ (entry.next), records: null, next: undefined, count: 0, stale: false })
      }
    }
    return null
  }

  /**
   * Store an answer for page `page` read with `cursor`. False when it no longer fits (the chain changed
   * meanwhile): the caller drops it.
   * @param {number} page @param {string | null} cursor @param {ListPage} answer
   */
  accept (page, cursor, answer) {
    const entry = this.pages[page]
    if (!entry || entry.cursor !== cursor) return false
    const nextEntry = this.pages[page + 1]
    if (nextEntry && nextEntry.cursor !== answer.next_cursor) this.pages.length = page + 1
    if (answer.next_cursor === null) this.pages.length = page + 1
    Object.assign(entry, { records: answer.records, next: answer.next_cursor, count: answer.records.length, stale: false })
    // The server may estimate a total that is expensive to count (`total_is_estimate`): the end of the
    // chain then tells the true one, and rows already read bound it from below.
    const before = this.pages.slice(0, page).reduce((sum, { count }) => sum + count, 0)
    const read = before + answer.records.length
    if (answer.next_cursor === null) {
      this.total = read
      this.estimate = false
    } else {
      this.total = Math.max(answer.total, read + 1)
      this.estimate = answer.total_is_estimate === true
    }
    return true
  }

  /**
   * Drop the records of the pages farthest from `page` (the one in view) beyond `maxPages`.
   * @param {number} page
   */
  evict (page) {
    const held = this.pages.map((entry, index) => ({ entry, index })).filter(({ entry }) => entry.records)
    if (held.length <= this.maxPages) return
    held.sort((a, b) => Math.abs(b.index - page) - Math.abs(a.index - page))
    for (const { entry } of held.slice(0, held.length - this.maxPages)) entry.records = null
  }

  /** Everything is to be read again, newest data first; what is held is shown meanwhile. */
  markStale () {
    for (const entry of this.pages) if (entry.records) entry.stale = true
  }

  /** The page holding record `id`, and where in it. @param {string} id */
  find (id) {
    for (let page = 0; page < this.pages.length; page++) {
      const offset = this.pages[page].records?.findIndex((record) => record.id === id) ?? -1
      if (offset >= 0) return { page, offset }
    }
    return null
  }

  /**
   * Apply one feed event. `plain`: the view is newest first with no filter nor search, so a new record's
   * place (on top) and a deleted one's effect on the total are known; in any other view only the server
   * knows whether a record that came or went belongs there. An edited record is updated where it is and
   * stays there (rows do not jump under the reader) until the list is read again.
   * @param {string} type @param {RecordEvent} data @param {boolean} plain
   * @returns {Effect}
   */
  apply (type, data, plain) {
    const at = this.find(data.record)
    const records = at ? /** @type {RecordData[]} */ (this.pages[at.page].records) : null
    switch (type) {
      case 'record.created': {
        if (at) return 'none' // the user's own new record, or one a read already brought
        if (!plain) return 'refresh'
        const first = this.pages[0]
        if (first.next === undefined) return 'refresh'
        const record = {
          id: data.record,
          fields: summarize(data.fields),
          created_at: data.at,
          created_by: data.by,
          updated_at: data.at,
          updated_by: data.by
        }
        first.records = [record, ...(first.records ?? [])]
        first.count += 1
        this.total += 1
        return 'draw'
      }
      case 'record.updated':
        if (!at || !records) return 'none'
        records[at.offset] = {
          ...records[at.offset],
          fields: { ...records[at.offset].fields, ...summarize(data.fields) },
          updated_at: data.at,
          updated_by: data.by
        }
        return 'draw'
      case 'record.deleted':
        if (!at || !records) return plain ? this.#shrink() : 'refresh'
        records.splice(at.offset, 1)
        this.pages[at.page].count -= 1
        this.total = Math.max(0, this.total - 1)
        return 'draw'
      case 'record.conflicts':
        if (!at || !records) return 'none'
        records[at.offset] = { ...records[at.offset], open_conflicts: Number(data.fields?.open_conflicts) || 0 }
        return 'draw'
      case 'record.restored':
        return 'refresh'
      default:
        return 'none'
    }
  }

  /** A record not held left a plain view: one fewer in all; where it was is read again. @returns {Effect} */
  #shrink () {
    this.total = Math.max(0, this.total - 1)
    this.markStale()
    return 'draw'
  }
}
