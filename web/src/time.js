// Dates and times as people read them: "5 minutes ago", "3 Mar 2026, 10:42".

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })
const dateOnly = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' })
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

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

/** "3 Mar 2026" @param {string} iso */
export const onDate = (iso) => dateOnly.format(new Date(iso))
/** "3 Mar 2026, 10:42" @param {string} iso */
export const at = (iso) => dateTime.format(new Date(iso))

/** A <time> element's props: the exact moment is there for machines and on hover. @param {string} iso */
export const timeProps = (iso) => ({ dateTime: iso, title: at(iso) })
