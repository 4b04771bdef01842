// What the table adds to the change feed's events (table-page.js): lines for screen readers about records
// others added, deleted or restored, said once the table shows what they say; and the avatars of who has
// each record open, from the feed's presence events (the server sends them for every record of the
// collection, so no request is made per row).
import { h } from './dom.js'
import { avatar, colorOf } from './presence.js'
import { nameOf } from './wording.js'

const ANNOUNCED_MS = 10_000 // how long a said line stays in the live region

/** @typedef {import('./types.js').RecordData} RecordData */

/**
 * @param {{ me: { id: string }, titleOf: (record: { fields: Record<string, any> }) => string,
 *   held: (id: string) => RecordData | null }} options `held`: the record if the table holds it
 */
export function announcer ({ me, titleOf, held }) {
  // Polite, and outside the grid: screen readers hear what came and went without losing their place.
  const element = h('div', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite', 'data-testid': 'list-announcer' })
  /** @type {Map<string, {kind: 'add' | 'remove', text: string}>} */
  const pending = new Map()
  return {
    element,
    /** Remember what to say if the table comes to show it. @param {string} type @param {any} data */
    note (type, data) {
      if (data.by?.id === me.id) return // the user's own doing is no news to them
      const who = data.by ? nameOf(data.by, 'someone') : 'Someone'
      const title = titleOf(held(data.record) ?? { fields: data.fields ?? {} })
      /** @type {Record<string, ['add' | 'remove', string]>} */
      const sayings = {
        'record.created': ['add', `${who} added “${title}”.`],
        'record.restored': ['add', `${who} restored “${title}”.`],
        'record.deleted': ['remove', `${who} deleted “${title}”.`]
      }
      const say = sayings[type]
      if (say) pending.set(data.record, { kind: say[0], text: say[1] })
    },
    /** Say the lines the table now shows true. */
    say () {
      for (const [id, entry] of pending) {
        if ((entry.kind === 'add') !== Boolean(held(id))) continue
        pending.delete(id)
        const line = h('p', {}, entry.text) // a new node each time, so a repeated sentence is said again
        element.append(line)
        setTimeout(() => line.remove(), ANNOUNCED_MS)
      }
    },
    /** Another view: what was waiting is not going to be shown. */
    clear: () => pending.clear()
  }
}

/**
 * Avatars of the others who have each record open, by record id.
 * @param {{ me: { id: string }, signal: AbortSignal, changed: () => void }} options
 */
export function rowPresence ({ me, signal, changed }) {
  /** @type {Map<string, Node[]>} */
  const avatars = new Map()
  // Colours are worked out asynchronously: only the newest presence event of a record is drawn.
  let count = 0
  /** @type {Map<string, number>} */
  const newest = new Map()
  return {
    avatars,
    /** The server sends presence afresh on each connection: what we had may be out of date. */
    clear () {
      avatars.clear()
      newest.clear()
      changed()
    },
    /** @param {import('./feed.js').Presence} presence */
    async update ({ record, users }) {
      const mine = ++count
      newest.set(record, mine)
      // Others only: the user's own tabs are no news to them. The server lists each person once.
      const others = await Promise.all((users ?? []).filter((user) => user.id !== me.id)
        .map(async (user) => ({ id: user.id, name: user.name || 'Someone', color: await colorOf(user.id) })))
      if (signal.aborted || newest.get(record) !== mine) return
      if (others.length) avatars.set(record, others.map((user) => avatar(user)))
      else avatars.delete(record)
      changed()
    }
  }
}
