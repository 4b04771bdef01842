// What the save indicator says: the save state that follows from what is known about the connection and
// this device's pending edits, and its words. Pure, so it is unit-tested (web/test/save-status.test.js).
//
// The indicator must never lie nor stick: "Offline" only when the browser says the device is offline,
// "Can't reach the server" when the device is online but the server does not answer, and a state that
// waits for the server (connecting, saving, reconnecting) turns into an error with Retry once nothing has
// moved for STALL_MS (`Stall`, with the clock passed in so the rule is tested without waiting).
import { clock } from './time.js'

/**
 * @typedef {{ state: 'connecting' }
 *   | { state: 'reconnecting', count: number }
 *   | { state: 'saving', count: number }
 *   | { state: 'saved', at: Date }
 *   | { state: 'offline', count: number }
 *   | { state: 'unreachable', count: number }
 *   | { state: 'denied', count: number }
 *   | { state: 'error', code: number, reason: string, count: number }} SaveState
 */

/** How long a waiting state may last without progress before it is shown as an error with Retry. */
export const STALL_MS = 10_000

/** The `code` of the error a stalled state becomes: no close code, the server just does not answer. */
export const STALLED = 0

/** The close codes after which this user may no longer edit (collab/close_codes.py): 4401, 4403. */
const NO_LONGER_ALLOWED = new Set([4401, 4403])

/**
 * @param {object} facts
 * @param {{ code: number, reason: string } | null} facts.refused the server's final close, if any
 * @param {boolean} [facts.denied] the server refused our changes on this connection (role lowered)
 * @param {boolean} facts.connected
 * @param {boolean} facts.everConnected
 * @param {boolean} facts.offline what the browser says about the network
 * @param {number} [facts.closes] sockets closed since the last connection was made: one is the drop
 *   itself (reconnecting), more mean that attempts fail (the server cannot be reached)
 * @param {number} facts.count unconfirmed local edits
 * @param {Date | null} facts.savedAt when the server last confirmed our edits
 * @returns {SaveState}
 */
export function saveStateOf ({ refused, denied = false, connected, everConnected, offline, closes = 0, count, savedAt }) {
  if (refused) return { state: 'error', ...refused, count }
  // The server keeps the socket open but refuses our changes: they will not be saved on this connection.
  if (denied && count > 0) return { state: 'denied', count }
  if (!connected) {
    if (offline) return { state: 'offline', count }
    if (closes >= 2 || (!everConnected && closes >= 1)) return { state: 'unreachable', count }
    return everConnected ? { state: 'reconnecting', count } : { state: 'connecting' }
  }
  if (count > 0) return { state: 'saving', count }
  // Connected but not yet told what is stored: say nothing reassuring until the server has.
  return savedAt === null ? { state: 'connecting' } : { state: 'saved', at: savedAt }
}

/** The states that wait for the server: each must progress within STALL_MS. */
const WAITING = new Set(['connecting', 'reconnecting', 'saving'])

/**
 * Whether the state shown has stopped progressing. `check` is told the state now and whether something
 * moved (the server said what it stores); it answers true once a waiting state lasted STALL_MS unmoved, and
 * stays true until the state changes or something moves.
 */
export class Stall {
  /** @param {number} [limitMs] */
  constructor (limitMs = STALL_MS) {
    this.limitMs = limitMs
    /** @type {string | null} */
    this.kind = null
    this.since = 0
    this.stuck = false
  }

  /**
   * @param {string} kind the state's `state`
   * @param {number} now milliseconds
   * @param {boolean} [moved]
   * @returns {boolean} whether it is stuck
   */
  check (kind, now, moved = false) {
    if (moved || kind !== this.kind) {
      this.kind = kind
      this.since = now
      this.stuck = false
    } else if (WAITING.has(kind) && now - this.since >= this.limitMs) {
      this.stuck = true
    }
    return this.stuck
  }

  /** Milliseconds until `check` should run again, or null when nothing can stall. @param {number} now */
  dueIn (now) {
    if (this.stuck || this.kind === null || !WAITING.has(this.kind)) return null
    return Math.max(0, this.since + this.limitMs - now)
  }
}

/** @param {number} count */
const changes = (count) => count === 1 ? '1 change' : `${count} changes`
/** @param {number} count */
const edits = (count) => count === 1 ? '1 edit' : `${count} edits`
/** @param {number} count */
const noLongerEditing = (count) => `You can no longer edit — ${edits(count)} not saved, kept on this device`

/**
 * The words shown for a save state.
 * @param {SaveState} saveState
 * @returns {string}
 */
export function describeSaveState (saveState) {
  switch (saveState.state) {
    case 'connecting': return 'Connecting…'
    case 'reconnecting': return 'Reconnecting…'
    case 'saving': return 'Saving…'
    case 'saved': return `Saved ✓ · ${clock(saveState.at)}`
    case 'offline': return saveState.count === 0
      ? 'Offline — no unsaved changes'
      : `Offline — ${changes(saveState.count)} kept on this device`
    case 'unreachable': return saveState.count === 0
      ? "Can't reach the server — no unsaved changes"
      : `Can't reach the server — ${changes(saveState.count)} kept on this device`
    case 'denied': return noLongerEditing(saveState.count)
    case 'error':
      if (saveState.count > 0 && NO_LONGER_ALLOWED.has(saveState.code)) return noLongerEditing(saveState.count)
      if (saveState.code === STALLED) {
        return saveState.count === 0
          ? 'No answer from the server'
          : `No answer from the server — ${changes(saveState.count)} kept on this device`
      }
      return saveState.count === 0
        ? 'Disconnected'
        : `Not saved — ${changes(saveState.count)} kept on this device`
  }
}

/**
 * The text "Copy my edits" puts on the clipboard when the edits cannot be saved any more: one line per
 * field with unsaved edits, its label and the value this device holds, so the person can paste it
 * somewhere safe or send it to someone who may still edit.
 * @param {Array<{ label: string, value: unknown }>} unsaved
 * @returns {string}
 */
export function unsavedText (unsaved) {
  return unsaved.map(({ label, value }) => `${label}: ${value === null || value === undefined ? '' : String(value)}`).join('\n')
}

/**
 * Whether the edits kept on this device can no longer be saved by this user (a lowered role, an ended
 * account): then the page offers to copy them.
 * @param {SaveState} saveState
 */
export function cannotSave (saveState) {
  if (saveState.state === 'denied') return true
  return saveState.state === 'error' && saveState.count > 0 && NO_LONGER_ALLOWED.has(saveState.code)
}
