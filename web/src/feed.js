// A collection's change feed (`GET /api/events`, Server-Sent Events) for as long as a view follows it.
//
// The browser's EventSource does most of the work: the HttpOnly session cookie authenticates it, and when
// the stream drops it reconnects by itself and sends `Last-Event-ID`, so the server replays exactly what
// was missed. This module adds what it does not do:
// - no stream while the browser is offline, and a resumed one when it is back;
// - no stream while the page is hidden (a background tab, a minimised window), and a resumed one when it
//   is shown: the server allows a session only `max_streams_per_session` streams at once, and a person
//   with a dozen record tabs open would otherwise be refused past the tenth (429). Only a page someone
//   can see needs its changes live; the server's replay makes the hidden time lossless;
// - a new EventSource, with backoff, when the browser gives up (the server answered with an error, e.g.
//   a proxy's 502 during a deploy). A new EventSource starts without a last id, so ours goes in the query
//   string (`last_event_id`), which the server reads like the header;
// - a 401 there means the session ended: one ordinary API call lets the app's handler sign the user out.
import * as api from './api.js'

/**
 * Who has a record open now (others' tabs included; each person once).
 * @typedef {{record: string, count: number, users: Array<{id: string, name: string}>}} Presence
 */

const RECORD_EVENTS = ['record.created', 'record.updated', 'record.deleted', 'record.restored', 'record.conflicts']
const RETRY_FIRST_MS = 1000
const RETRY_MAX_MS = 30_000

/**
 * Follow `collection` until `signal` aborts.
 * @param {string} collection
 * @param {AbortSignal} signal
 * @param {{
 *   open: (state: {resumed: boolean, initial: boolean}) => void,
 *   record: (type: string, data: import('./record-list.js').RecordEvent) => void,
 *   presence: (data: Presence) => void,
 *   reset: () => void,
 *   schema?: (collection: {label: string, fields: import('./types.js').FieldSpec[]}) => void,
 *   quiet?: boolean
 * }} on
 *   `open` on every (re)connection: `resumed` when the server replays what we missed since the last event
 *   we saw; otherwise anything may have happened meanwhile, and only reloading the list can tell. Presence
 *   is sent afresh on each connection. `initial`: the first connection, made at once and at the first try,
 *   so nothing can have happened since the caller read what it shows just before following (a page opened
 *   in a background tab connects only once shown: not initial). `reset`: the server no longer keeps what we missed: reload the list.
 *   `schema`: an admin changed the collection's label or fields (`collection.updated`), with the new ones.
 *   `quiet`: a stream that failed is retried without asking whether the session lives, for a page that
 *   learns that by its own means and decides what then (the record page: its socket, its unsaved edits).
 */
export function followCollection (collection, signal, on) {
  /** @type {EventSource | null} */
  let source = null
  let lastId = '' // the newest stored event handled, for a new EventSource to resume from
  /** @type {ReturnType<typeof setTimeout> | null} */
  let retryTimer = null
  let retryDelay = RETRY_FIRST_MS
  let gapless = true // no open yet, and none delayed or failed: what `initial` says

  const hidden = () => document.visibilityState === 'hidden'

  /** @param {MessageEvent} event @returns {any} */
  const parse = (event) => {
    try {
      return JSON.parse(event.data)
    } catch {
      return null // not the server's JSON (a proxy's page?): ignore it rather than break the stream
    }
  }

  const close = () => {
    if (retryTimer !== null) clearTimeout(retryTimer)
    retryTimer = null
    source?.close()
    source = null
  }

  const connect = () => {
    close()
    if (signal.aborted) return
    if (!navigator.onLine || hidden()) {
      gapless = false
      return
    }
    const params = new URLSearchParams({ collection })
    if (lastId) params.set('last_event_id', lastId)
    const opened = new EventSource(`/api/events?${params}`)
    source = opened
    opened.addEventListener('open', () => {
      retryDelay = RETRY_FIRST_MS
      const initial = gapless
      gapless = false
      on.open({ resumed: lastId !== '', initial })
    })
    for (const type of RECORD_EVENTS) {
      opened.addEventListener(type, (event) => {
        // lastEventId is the browser's "last event ID buffer": this event's id.
        if (event.lastEventId) lastId = event.lastEventId
        const data = parse(event)
        if (data) on.record(type, data)
      })
    }
    opened.addEventListener('collection.updated', (event) => {
      if (event.lastEventId) lastId = event.lastEventId
      const changed = parse(event)?.fields
      if (Array.isArray(changed?.fields)) on.schema?.(changed)
    })
    opened.addEventListener('presence', (event) => {
      const data = parse(event)
      if (data) on.presence(data)
    })
    opened.addEventListener('reset', (event) => {
      // The server carries on from its newest event; a stream of ours opened later must not ask for
      // the forgotten ones again (the browser's own reconnection still might: that only reloads again).
      const newest = parse(event)?.newest
      if (Number.isInteger(newest)) lastId = String(newest)
      on.reset()
    })
    opened.addEventListener('error', () => {
      // CONNECTING: the browser is reconnecting by itself, with Last-Event-ID. CLOSED: it gave up.
      gapless = false
      if (opened !== source || opened.readyState !== EventSource.CLOSED) return
      source = null
      retryLater()
    })
  }

  const retryLater = async () => {
    if (!on.quiet) {
      try {
        await api.me()
      } catch (error) {
        // 401: the app's unauthorized handler has ended the session, and with it this view.
        if (error.status === 401) return
        // Offline or unreachable: try again all the same; `online` below also reconnects at once.
      }
    }
    if (signal.aborted || source || retryTimer) return
    retryTimer = setTimeout(connect, retryDelay)
    retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS)
  }

  // Offline there is nothing to receive: close rather than let the browser retry into the void.
  const onOffline = () => {
    gapless = false
    close()
  }
  const onOnline = () => connect()
  // Hidden: the slot goes back to the server at once. Shown: connect, unless a stream or a retry is on.
  const onVisibility = () => {
    if (hidden()) onOffline()
    else if (!source && retryTimer === null) connect()
  }
  window.addEventListener('offline', onOffline)
  window.addEventListener('online', onOnline)
  document.addEventListener('visibilitychange', onVisibility)
  signal.addEventListener('abort', () => {
    window.removeEventListener('offline', onOffline)
    window.removeEventListener('online', onOnline)
    document.removeEventListener('visibilitychange', onVisibility)
    close()
  }, { once: true })
  connect()
}
