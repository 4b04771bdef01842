// Who else is on this record, from the provider's awareness: avatars, join/leave notices, and on each
// field a marker of who is editing it now.
//
// The server overwrites `user` in every awareness state with the sender's authenticated
// `{id, name, color}`, so names and colours read from remote states can be trusted. Our own state's
// `field` says which field we are in; the server lists it in the record's presence too. A rich-text
// editor adds `cursor` (y-codemirror.next: anchor and head as Y.Text relative positions), from which
// the others draw our caret in that field, labelled and coloured from the same stamped `user`. A scalar
// field adds `active` (its key) while we focus or type in it (editing-prompt.js: "Ana is editing Name").
//
// What to announce is decided by roster.js: our own dropped connection shows "Reconnecting…" and never
// announces the others leaving; another person whose connection dropped is shown "away" for a grace
// period (AWAY_GRACE_MS; a test may shorten it with localStorage `collab.awayGraceMs`) before "left";
// closing the record sets `leaving` in our state first, so the others announce that at once.
import { PALETTE } from './constants.js'
import { h } from './dom.js'
import { AWAY_GRACE_MS, Roster } from './roster.js'

const NOTICE_MS = 8000
const NEUTRAL = '#5b6576'

/** "Ann Lee" → "AL", "bob@example.com" → "BO". @param {string | null | undefined} name */
export function initials (name) {
  const words = String(name ?? '').trim().split(/[\s@._-]+/).filter(Boolean)
  return (words.length > 1 ? words[0][0] + words[1][0] : (words[0] ?? '?').slice(0, 2)).toUpperCase()
}

// A person's colour is the first byte of the SHA-256 of their id picking from the server's palette, so the
// list's avatars match the ones the server stamps in a record's awareness.
/** @type {Map<string, Promise<string>>} */
const colors = new Map()

/**
 * The colour the server gives the user with this id, for presence reported without one.
 * @param {string} userId
 * @returns {Promise<string>}
 */
export function colorOf (userId) {
  let color = colors.get(userId)
  if (!color) {
    color = (async () => {
      // crypto.subtle exists only in secure contexts (HTTPS, localhost): elsewhere, the neutral colour.
      if (!globalThis.crypto?.subtle) return NEUTRAL
      const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(userId))
      return PALETTE[new Uint8Array(digest)[0] % PALETTE.length]
    })()
    colors.set(userId, color)
  }
  return color
}

/**
 * One person's round avatar: initials to see, the name for hover and screen readers.
 * @param {{name: string, color?: string}} person
 * @param {{you?: boolean, away?: boolean}} [options] `away`: their connection dropped a moment ago
 */
export function avatar ({ name, color }, { you = false, away = false } = {}) {
  const label = you ? `${name} (you)` : away ? `${name} (away)` : name
  const style = `--who: ${color || NEUTRAL}${away ? '; opacity: 0.5' : ''}`
  return h('li', { class: away ? 'avatar away' : 'avatar', title: label, style, 'data-testid': 'avatar' },
    h('span', { 'aria-hidden': 'true' }, initials(name)),
    h('span', { class: 'visually-hidden' }, label))
}

/**
 * Show presence for `provider` in `avatars` and `notices`, and in `markers[fieldKey]`.
 * @param {import('y-websocket').WebsocketProvider} provider
 * @param {{id: string, name: string, color?: string}} me
 * @param {{avatars: HTMLElement, notices: HTMLElement, markers: Record<string, HTMLElement>}} places
 * @returns {{ editing: (field: string | null) => void, stop: () => void }}
 */
export function showPresence (provider, me, { avatars, notices, markers }) {
  /** @typedef {import('./roster.js').Person} Person */
  const awareness = provider.awareness
  // Our own `user` is stamped by the server for others; locally we fill it in ourselves. The rest of
  // our state (a rich-text field's `cursor`, set by its editor) is kept.
  awareness.setLocalState({
    ...awareness.getLocalState(),
    user: { id: me.id, name: me.name, color: me.color },
    field: null
  })

  const roster = new Roster(graceMs())
  /** Shown while our own connection is down (not after a final close: then nothing reconnects). */
  const reconnecting = h('p', { class: 'notice', 'data-testid': 'presence-status', hidden: true }, 'Reconnecting…')
  notices.append(reconnecting)
  /** Who we showed last: kept on screen while our connection is down. @type {Map<string, Person>} */
  let lastSeen = new Map()
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null

  /** Everyone present by user id (one person may have several tabs), us excluded. */
  const others = () => {
    /** @type {Map<string, Person>} */
    const users = new Map()
    for (const [client, state] of awareness.getStates()) {
      const user = state?.user
      if (client === awareness.clientID || typeof user?.id !== 'string' || user.id === me.id) continue
      const entry = users.get(user.id) ?? { ...user, fields: new Set(), leaving: true }
      if (typeof state.field === 'string') entry.fields.add(state.field)
      // Leaving only when every tab of theirs said so.
      entry.leaving = entry.leaving && state.leaving === true
      users.set(user.id, entry)
    }
    return users
  }

  /** @param {string} text */
  const announce = (text) => {
    const notice = h('p', { class: 'notice', 'data-testid': 'presence-notice' }, text)
    notices.append(notice)
    setTimeout(() => notice.remove(), NOTICE_MS)
  }

  /** @param {Map<string, Person>} present @param {Array<Person & {away?: boolean}>} shown */
  const draw = (present, shown) => {
    avatars.replaceChildren(avatar(me, { you: true }), ...shown.map((user) => avatar(user, { away: user.away })))
    for (const [key, marker] of Object.entries(markers)) {
      const here = [...present.values()].filter((user) => user.fields.has(key))
      marker.replaceChildren(...here.map((user) =>
        h('span', { class: 'editing-chip', style: `--who: ${user.color || NEUTRAL}` }, `${user.name} is editing`)))
    }
  }

  const schedule = () => {
    if (timer !== null) clearTimeout(timer)
    const due = roster.dueIn(Date.now())
    timer = due === null ? null : setTimeout(expire, due)
  }
  const expire = () => {
    timer = null
    if (!provider.wsconnected) return // announced, if still gone, once we are back
    for (const name of roster.expire(Date.now())) announce(`${name} left`)
    render()
  }

  const render = () => {
    if (!provider.wsconnected) {
      // Our connection is down and y-websocket dropped everyone else's state: that is us, not them.
      roster.pause()
      draw(new Map(), [...lastSeen.values()])
      return
    }
    const present = others()
    const news = roster.update(present, Date.now())
    for (const name of news.joined) announce(`${name} joined`)
    for (const name of news.left) announce(`${name} left`)
    lastSeen = new Map(present)
    draw(present, roster.shown(present))
    schedule()
  }

  /** @param {boolean} synced */
  const onSync = (synced) => {
    if (!synced) return
    // Peers ignore a state whose clock they have seen, and when the connection dropped the server told
    // them we left with our clock + 1: set ours twice so it carries a newer clock and we reappear at once.
    awareness.setLocalState({ ...awareness.getLocalState() })
    awareness.setLocalState({ ...awareness.getLocalState() })
    reconnecting.hidden = true
    roster.resume(others())
    render()
  }
  /** @param {{status: string}} event */
  const onStatus = ({ status }) => {
    if (status === 'disconnected') reconnecting.hidden = false
    if (status !== 'connected') render()
  }
  // A final close (44xx): nothing reconnects, the save indicator says why.
  const onClosed = () => { reconnecting.hidden = true }

  awareness.on('change', render)
  provider.on('sync', onSync)
  provider.on('status', onStatus)
  provider.on('closed', onClosed)
  render()

  return {
    /** Tell the others which field we are in (`null`: none). */
    editing: (field) => awareness.setLocalStateField('field', field),
    stop () {
      // We close the record: the others announce that at once rather than waiting out the grace period.
      if (provider.wsconnected) awareness.setLocalStateField('leaving', true)
      if (timer !== null) clearTimeout(timer)
      awareness.off('change', render)
      provider.off('sync', onSync)
      provider.off('status', onStatus)
      provider.off('closed', onClosed)
    }
  }
}

/** The away grace period: AWAY_GRACE_MS, unless localStorage `collab.awayGraceMs` sets another (tests). */
function graceMs () {
  const set = Number(globalThis.localStorage?.getItem('collab.awayGraceMs') ?? NaN)
  return Number.isFinite(set) && set >= 0 ? set : AWAY_GRACE_MS
}
