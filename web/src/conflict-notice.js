// What a record page says about its open conflicts, as data: which field shows a notice to whom, in which
// words. Pure, so it is unit-tested (web/test/conflict-notice.test.js); conflicts.js draws it.
import { nameOf, shown } from './wording.js'

/**
 * One open conflict (`GET /api/records/ID/conflicts`): whose value won (and the field's value now) and
 * whose value was replaced.
 * @typedef {{
 *   id: number,
 *   field: string,
 *   at: string,
 *   winner: { value: any, user: import('./types.js').Person | null },
 *   lost: { value: any, user: import('./types.js').Person | null }
 * }} Conflict
 */

/**
 * What one field shows: `mine`, the newest conflict in which my value was replaced (a notice with
 * "Put mine back" and "Keep theirs"), and `others`, how many open conflicts of the field are someone
 * else's (a small "Open conflict" mark, when I have no notice of my own there).
 * @typedef {{ mine: Conflict | null, others: number }} FieldConflicts
 */

/**
 * Open conflicts by field, for the person `meId`.
 * @param {Conflict[]} conflicts newest first, as the server lists them
 * @param {string} meId
 * @returns {Map<string, FieldConflicts>}
 */
export function byField (conflicts, meId) {
  /** @type {Map<string, FieldConflicts>} */
  const fields = new Map()
  for (const conflict of conflicts) {
    const entry = fields.get(conflict.field) ?? { mine: null, others: 0 }
    if (conflict.lost?.user?.id === meId) {
      if (!entry.mine) entry.mine = conflict
    } else {
      entry.others += 1
    }
    fields.set(conflict.field, entry)
  }
  return fields
}

/**
 * Whether my lost value can be put back: the server keeps no lost value (null) of a replaced rich text.
 * @param {Conflict} conflict
 */
export const canPutBack = (conflict) => conflict.lost?.value !== null && conflict.lost?.value !== undefined

/**
 * The sentences of my notice: "Bob's value won: «150000»." and "Yours was «200000»."
 * @param {Conflict} conflict
 * @param {number} maxChars how much of each value to show
 * @returns {{ won: string, yours: string }}
 */
export function noticeWords (conflict, maxChars) {
  const winner = nameOf(conflict.winner?.user, 'Someone')
  return {
    won: `${winner}'s value won: «${shown(conflict.winner?.value, maxChars)}».`,
    yours: canPutBack(conflict)
      ? `Yours was «${shown(conflict.lost?.value, maxChars)}».`
      : 'Your text was replaced and cannot be put back from here.'
  }
}

/**
 * The title of the mark others see: who lost which value to whom.
 * @param {Conflict[]} conflicts of one field
 * @param {number} maxChars
 */
export function markTitle (conflicts, maxChars) {
  return conflicts.map((conflict) =>
    `${nameOf(conflict.lost?.user, 'Someone')}'s «${shown(conflict.lost?.value, maxChars)}» was replaced by ` +
    `${nameOf(conflict.winner?.user, 'someone')}'s «${shown(conflict.winner?.value, maxChars)}».`).join(' ')
}

/**
 * The fields a message 101 says have changed conflicts, or null when it is another kind of notice.
 * @param {unknown} notice the message's JSON
 * @returns {string[] | null}
 */
export function conflictFields (notice) {
  if (typeof notice !== 'object' || notice === null) return null
  const { kind, fields } = /** @type {{kind?: unknown, fields?: unknown}} */ (notice)
  if (kind !== 'conflicts') return null
  return Array.isArray(fields) ? fields.filter((field) => typeof field === 'string') : []
}
