// Who else is on a record, and what to announce when that changes: pure (no provider, no DOM, the clock
// passed in), so the rules are unit-tested (web/test/roster.test.js); presence.js feeds it from the
// awareness.
//
// Presence must tell the truth. A person whose awareness entry disappears without saying goodbye (their
// connection dropped: the server removes their entry) is shown "away" for a grace period and only then
// announced as gone; back within it, nothing is announced. One who closed the record says so first
// (`leaving` in their state) and is announced at once. While our own connection is down, the awareness
// of everyone else is dropped locally: that is not them leaving, so nothing is announced, and the next
// sync sets a new baseline.

/** How long a person whose connection dropped is shown "away" before "left". */
export const AWAY_GRACE_MS = 30_000

/**
 * @typedef {{ id: string, name: string, color?: string, fields: Set<string>, leaving?: boolean }} Person
 * @typedef {Person & { away?: boolean }} Shown
 */

export class Roster {
  /** @param {number} [graceMs] */
  constructor (graceMs = AWAY_GRACE_MS) {
    this.graceMs = graceMs
    /** Who was here at the last update since the last sync; null while we are not synced. @type {Map<string, Person> | null} */
    this.baseline = null
    /** People shown away, with when they left. @type {Map<string, { person: Person, since: number }>} */
    this.away = new Map()
  }

  /** Our own connection dropped: the others' entries will be dropped locally, which means nothing. */
  pause () {
    this.baseline = null
  }

  /**
   * Synced again: `present` is the new baseline, announced to nobody.
   * @param {Map<string, Person>} present
   */
  resume (present) {
    this.baseline = new Map(present)
    for (const id of present.keys()) this.away.delete(id)
  }

  /**
   * The people present now. Returns who joined and who left (names), to announce.
   * @param {Map<string, Person>} present
   * @param {number} now milliseconds
   * @returns {{ joined: string[], left: string[] }}
   */
  update (present, now) {
    /** @type {{ joined: string[], left: string[] }} */
    const news = { joined: [], left: [] }
    if (this.baseline === null) return news
    for (const [id, person] of present) {
      if (this.away.delete(id)) continue // back within the grace period: they never left
      if (!this.baseline.has(id)) news.joined.push(person.name)
    }
    for (const [id, person] of this.baseline) {
      if (present.has(id)) continue
      if (person.leaving) news.left.push(person.name)
      else this.away.set(id, { person, since: now })
    }
    this.baseline = new Map(present)
    return news
  }

  /**
   * The people whose grace period is over by `now`, no longer shown: their names, to announce.
   * @param {number} now
   * @returns {string[]}
   */
  expire (now) {
    /** @type {string[]} */
    const left = []
    for (const [id, { person, since }] of this.away) {
      if (now - since < this.graceMs) continue
      this.away.delete(id)
      left.push(person.name)
    }
    return left
  }

  /** Milliseconds until `expire` has something to do, or null. @param {number} now */
  dueIn (now) {
    let due = null
    for (const { since } of this.away.values()) {
      const left = Math.max(0, since + this.graceMs - now)
      due = due === null ? left : Math.min(due, left)
    }
    return due
  }

  /**
   * Everyone to show: those present, then those away (marked).
   * @param {Map<string, Person>} present
   * @returns {Shown[]}
   */
  shown (present) {
    return [...present.values(), ...[...this.away.values()].map(({ person }) => ({ ...person, away: true }))]
  }
}
