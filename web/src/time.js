// Dates and times as people read them: "5 minutes ago", "3 Mar 2026, 10:42".

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })
const dateOnly = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' })
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

const STEPS = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 7],
  ['week', 4.35],
  ['month', 12],
  ['year', Infinity]
]

/** "just now", "5 minutes ago", "yesterday"… relative to `now`. */
export function ago (iso, now = Date.now()) {
  let amount = (new Date(iso).getTime() - now) / 1000
  if (Math.abs(amount) < 45) return 'just now'
  for (const [unit, size] of STEPS) {
    if (Math.abs(amount) < size) return relative.format(Math.round(amount), unit)
    amount /= size
  }
}

export const onDate = (iso) => dateOnly.format(new Date(iso))
export const at = (iso) => dateTime.format(new Date(iso))

/** A <time> element's props: the exact moment is there for machines and on hover. */
export const timeProps = (iso) => ({ dateTime: iso, title: at(iso) })
