// What the save indicator says: the save state that follows from what is known about the connection and
// this device's pending edits, and its words. Pure, so it is unit-tested (web/test/save-status.test.js).

/**
 * @typedef {{ state: 'connecting' }
 *   | { state: 'saving', count: number }
 *   | { state: 'saved', at: Date }
 *   | { state: 'offline', count: number }
 *   | { state: 'error', code: number, reason: string, count: number }} SaveState
 */

/**
 * @param {object} facts
 * @param {{ code: number, reason: string } | null} facts.refused the server's final close, if any
 * @param {boolean} facts.connected
 * @param {boolean} facts.everConnected
 * @param {boolean} facts.offline what the browser says about the network
 * @param {number} facts.count unconfirmed local edits
 * @param {Date | null} facts.savedAt when the server last confirmed our edits
 * @returns {SaveState}
 */
export function saveStateOf ({ refused, connected, everConnected, offline, count, savedAt }) {
  if (refused) return { state: 'error', ...refused, count }
  if (!connected) return everConnected || offline ? { state: 'offline', count } : { state: 'connecting' }
  if (count > 0) return { state: 'saving', count }
  // Connected but not yet told what is stored: say nothing reassuring until the server has.
  return savedAt === null ? { state: 'connecting' } : { state: 'saved', at: savedAt }
}

/** @param {number} n */
const twoDigits = (n) => String(n).padStart(2, '0')
/** @param {number} count */
const changes = (count) => count === 1 ? '1 change' : `${count} changes`

/**
 * The words shown for a save state.
 * @param {SaveState} saveState
 * @returns {string}
 */
export function describeSaveState (saveState) {
  switch (saveState.state) {
    case 'connecting': return 'Connecting…'
    case 'saving': return 'Saving…'
    case 'saved': return `Saved ✓ · ${twoDigits(saveState.at.getHours())}:${twoDigits(saveState.at.getMinutes())}`
    case 'offline': return saveState.count === 0
      ? 'Offline — no unsaved changes'
      : `Offline — ${changes(saveState.count)} kept on this device`
    case 'error': return saveState.count === 0
      ? 'Disconnected'
      : `Not saved — ${changes(saveState.count)} kept on this device`
  }
}
