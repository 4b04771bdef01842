// Dates and times as people read them: "5 minutes ago", "3 Mar 2026, 10:42". Every time of day the app
// shows is written by `clock` (24-hour "10:42", the same in every locale), so the save badge, the history,
// snapshots, the audit log and the table never disagree on how a time looks.

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })
const dateOnly = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' })

/** @type {Array<[Intl.RelativeTimeFormatUnit, number]>} */
const STEPS = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 7],
  ['week', 4.35],
  ['month', 12],
  ['year', Infinity]
]

/**
 * "just now", "5 minutes ago", "yesterday"… relative to `now`.
 * @param {string} iso a moment, as the API writes it
 * @param {number} [now] milliseconds since the epoch
 * @returns {string}
 */
export function ago (iso, now = Date.now()) {
  let amount = (new Date(iso).getTime() - now) / 1000
  if (Math.abs(amount) < 45) return 'just now'
  for (const [unit, size] of STEPS) {
    if (Math.abs(amount) < size) return relative.format(Math.round(amount), unit)
    amount /= size
  }
  return '' // not reached: the last step never ends
}

/** @param {number} n */
const twoDigits = (n) => String(n).padStart(2, '0')

/** The time of day, "10:42" (local time, 24-hour): the app's one clock format. @param {Date | string} moment */
export function clock (moment) {
  const date = typeof moment === 'string' ? new Date(moment) : moment
  return `${twoDigits(date.getHours())}:${twoDigits(date.getMinutes())}`
}

/** "3 Mar 2026" @param {string} iso */
export const onDate = (iso) => dateOnly.format(new Date(iso))
/** "3 Mar 2026, 10:42" @param {string} iso */
export const at = (iso) => `${onDate(iso)}, ${clock(iso)}`

/** A <time> element's props: the exact moment is there for machines and on hover. @param {string} iso */
export const timeProps = (iso) => ({ dateTime: iso, title: at(iso) })
