// Who else is on this record, from the provider's awareness: avatars, join/leave notices, and on each
// field a marker of who is editing it now.
//
// The server overwrites `user` in every awareness state with the sender's authenticated
// `{id, name, color}`, so names and colours read from remote states can be trusted. Our own state's
// `field` says which field we are in; the server lists it in the record's presence too. A rich-text
// editor adds `cursor` (y-codemirror.next: anchor and head as Y.Text relative positions), from which
// the others draw our caret in that field, labelled and coloured from the same stamped `user`.
import { PALETTE } from './constants.js'
import { h } from './dom.js'

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
 * @param {{you?: boolean}} [options]
 */
export function avatar ({ name, color }, { you = false } = {}) {
  const label = you ? `${name} (you)` : name
  return h('li', { class: 'avatar', title: label, style: `--who: ${color || NEUTRAL}`, 'data-testid': 'avatar' },
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
  /** @typedef {{id: string, name: string, color?: string, fields: Set<string>}} Present */
  const awareness = provider.awareness
  // Our own `user` is stamped by the server for others; locally we fill it in ourselves. The rest of
  // our state (a rich-text field's `cursor`, set by its editor) is kept.
  awareness.setLocalState({
    ...awareness.getLocalState(),
    user: { id: me.id, name: me.name, color: me.color },
    field: null
  })

  /** Who was here at the last render since the last sync: the next render announces the difference. */
  /** @type {Map<string, Present> | null} */
  let baseline = null

  /** Everyone present by user id (one person may have several tabs), us excluded. */
  const others = () => {
    /** @type {Map<string, Present>} */
    const users = new Map()
    for (const [client, state] of awareness.getStates()) {
      const user = state?.user
      if (client === awareness.clientID || typeof user?.id !== 'string' || user.id === me.id) continue
      const entry = users.get(user.id) ?? { ...user, fields: new Set() }
      if (typeof state.field === 'string') entry.fields.add(state.field)
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

  const render = () => {
    const users = others()
    avatars.replaceChildren(avatar(me, { you: true }), ...[...users.values()].map((user) => avatar(user)))
    for (const [key, marker] of Object.entries(markers)) {
      const here = [...users.values()].filter((user) => user.fields.has(key))
      marker.replaceChildren(...here.map((user) =>
        h('span', { class: 'editing-chip', style: `--who: ${user.color || NEUTRAL}` }, `${user.name} is editing`)))
    }
    if (baseline === null) return
    for (const [id, user] of users) if (!baseline.has(id)) announce(`${user.name} joined`)
    for (const [id, user] of baseline) if (!users.has(id)) announce(`${user.name} left`)
    baseline = users
  }

  /** @param {boolean} synced */
  const onSync = (synced) => {
    if (!synced) return
    // Peers ignore a state whose clock they have seen, and the server told them we left when the
    // connection dropped: set ours again so it carries a newer clock and we reappear at once.
    awareness.setLocalState({ ...awareness.getLocalState() })
    baseline = others()
    render()
  }
  /** @param {{status: string}} event */
  const onStatus = ({ status }) => {
    // Offline, everyone else's state is dropped: that is not them leaving.
    if (status !== 'connected') baseline = null
  }

  awareness.on('change', render)
  provider.on('sync', onSync)
  provider.on('status', onStatus)
  render()

  return {
    /** Tell the others which field we are in (`null`: none). */
    editing: (field) => awareness.setLocalStateField('field', field),
    stop () {
      awareness.off('change', render)
      provider.off('sync', onSync)
      provider.off('status', onStatus)
    }
  }
}
