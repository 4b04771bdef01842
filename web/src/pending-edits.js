// The ledger behind the save indicator: this device's local edits that the server has not confirmed yet,
// and the rules that confirm them. Pure (no provider, no DOM), so the rules are unit-tested
// (web/test/pending-edits.test.js); save-state.js feeds it from the provider.
//
// An edit is what a person would call one: the transactions of one field in one burst of typing (no pause
// longer than BURST_MS), so a typed phrase counts once, not once per keystroke. Each edit keeps the
// highest clock its client reached; it is confirmed once a stored state vector from a "saved" message
// (type 100) has caught up with that clock. A transaction that only deletes moves no clock, so a state
// vector cannot show it stored: an edit holding deletions also waits for the first "saved" received after
// its last deletion was sent, except the answer to sync step 1, which the server sends before it has our
// sync step 2. That is close but not exact: a commit already under way when the deletion was sent could
// confirm it early.

/** A pause in one field longer than this starts a new edit. */
export const BURST_MS = 5000

/**
 * One unconfirmed local edit: its client id, the clock that client reached, whether it only deleted
 * (`deleteOnly`) or also deleted (`deletes`), and its field. This is what is kept on the device
 * (IndexedDB) between visits.
 * @typedef {{ client: number, clock: number, deleteOnly?: boolean, deletes?: boolean, field?: string }} Pending
 */

/**
 * In memory an edit also has `after`: how many "saved" messages this connection had received when its
 * last deletion was sent (none yet: it travels in the next connection's sync step 2), and `at`: when it
 * was last extended.
 * @typedef {Pending & { after?: number, at?: number }} Entry
 */

/** @param {Entry} entry */
const hasDeletes = (entry) => entry.deleteOnly === true || entry.deletes === true

export class PendingEdits {
  /** @param {Pending[]} [kept] the unconfirmed edits kept from earlier visits */
  constructor (kept = []) {
    /** @type {Entry[]} */
    this.entries = kept.map((entry) => ({ ...entry }))
    /** "saved" messages on the current connection; the first answers sync step 1. */
    this.savedMessages = 0
    /** When the server last confirmed our edits; null until it first has. @type {Date | null} */
    this.savedAt = null
  }

  get count () { return this.entries.length }

  /** The fields with unconfirmed edits, each once. @returns {string[]} */
  fields () {
    return [...new Set(this.entries.flatMap((entry) => entry.field === undefined ? [] : [entry.field]))]
  }

  /** What to keep on the device: the entries without their per-connection counts. @returns {Pending[]} */
  kept () {
    return this.entries.map(({ after, at, ...entry }) => entry)
  }

  /**
   * A local transaction was made.
   * @param {number} client the document's client id
   * @param {number} clockBefore that client's clock before the transaction
   * @param {number} clock …and after it
   * @param {boolean} connected whether it goes to the server on the current connection
   * @param {{ field?: string | null, at?: number }} [where] the field it changed and when (milliseconds):
   *   without both, it is an edit of its own
   */
  add (client, clockBefore, clock, connected, { field = null, at } = {}) {
    const deleteOnly = clockBefore === clock
    const last = field === null || at === undefined ? undefined : this.lastOf(field)
    if (last && last.client === client && last.at !== undefined && at !== undefined && at - last.at <= BURST_MS) {
      last.at = at
      if (!deleteOnly) {
        last.clock = Math.max(last.clock, clock)
        if (last.deleteOnly) {
          delete last.deleteOnly
          last.deletes = true
        }
      } else {
        if (!last.deleteOnly) last.deletes = true
        if (connected) last.after = this.savedMessages
        else delete last.after
      }
      return
    }
    /** @type {Entry} */
    const entry = deleteOnly ? { client, clock, deleteOnly } : { client, clock }
    if (field !== null) entry.field = field
    if (at !== undefined) entry.at = at
    if (deleteOnly && connected) entry.after = this.savedMessages
    this.entries.push(entry)
  }

  /** The newest unconfirmed edit of `field`. @param {string} field @returns {Entry | undefined} */
  lastOf (field) {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i].field === field) return this.entries[i]
    return undefined
  }

  /** A new connection: deletions made offline travel in its sync step 2, so wait for a commit after it. */
  connected () {
    this.savedMessages = 0
    for (const entry of this.entries) if (hasDeletes(entry)) entry.after = 0
  }

  /**
   * A "saved" message: `stored` is the state vector of what the server has stored.
   * @param {Map<number, number>} stored
   * @param {boolean} connected
   * @param {Date} now
   * @returns {boolean} whether any entry was confirmed (the kept list changed)
   */
  saved (stored, connected, now) {
    this.savedMessages++
    if (this.savedAt === null) this.savedAt = now // the first word from the server: all it has is stored
    const before = this.entries.length
    this.entries = this.entries.filter((entry) => {
      const deletionsStored = !hasDeletes(entry) ||
        (connected && entry.after !== undefined && this.savedMessages > Math.max(entry.after, 1))
      const insertionsStored = entry.deleteOnly === true || (stored.get(entry.client) ?? 0) >= entry.clock
      return !(deletionsStored && insertionsStored)
    })
    if (before > 0 && this.entries.length === 0) this.savedAt = now
    return this.entries.length !== before
  }
}
