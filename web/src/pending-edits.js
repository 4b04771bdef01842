// The ledger behind the save indicator: this device's local transactions that the server has not confirmed
// yet, and the rules that confirm them. Pure (no provider, no DOM), so the rules are unit-tested
// (web/test/pending-edits.test.js); save-state.js feeds it from the provider.
//
// Every local transaction is kept with the clock its client reached; it is confirmed once a stored state
// vector from a "saved" message (type 100) has caught up with that clock. A transaction that only deletes
// moves no clock, so a state vector cannot show it stored: it counts as confirmed by the first "saved"
// received after it was sent, except the answer to sync step 1, which the server sends before it has our
// sync step 2. That is close but not exact: a commit already under way when the deletion was sent could
// confirm it early.

/**
 * One unconfirmed local transaction: its client id, the clock that client reached, and whether it only
 * deleted. This is what is kept on the device (IndexedDB) between visits.
 * @typedef {{ client: number, clock: number, deleteOnly?: boolean }} Pending
 */

/**
 * In memory a deletion also has `after`: how many "saved" messages this connection had received when it
 * was sent (none yet: it travels in the next connection's sync step 2).
 * @typedef {Pending & { after?: number }} Entry
 */

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

  /** What to keep on the device: the entries without their per-connection counts. @returns {Pending[]} */
  kept () {
    return this.entries.map(({ after, ...entry }) => entry)
  }

  /**
   * A local transaction was made.
   * @param {number} client the document's client id
   * @param {number} clockBefore that client's clock before the transaction
   * @param {number} clock …and after it
   * @param {boolean} connected whether it goes to the server on the current connection
   */
  add (client, clockBefore, clock, connected) {
    const deleteOnly = clockBefore === clock
    /** @type {Entry} */
    const entry = deleteOnly ? { client, clock, deleteOnly } : { client, clock }
    if (deleteOnly && connected) entry.after = this.savedMessages
    this.entries.push(entry)
  }

  /** A new connection: deletions made offline travel in its sync step 2, so wait for a commit after it. */
  connected () {
    this.savedMessages = 0
    for (const entry of this.entries) if (entry.deleteOnly) entry.after = 0
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
    this.entries = this.entries.filter((entry) => entry.deleteOnly
      ? !(connected && entry.after !== undefined && this.savedMessages > Math.max(entry.after, 1))
      : (stored.get(entry.client) ?? 0) < entry.clock)
    if (before > 0 && this.entries.length === 0) this.savedAt = now
    return this.entries.length !== before
  }
}
