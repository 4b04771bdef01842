// "Deleted by X · Undo" on a record's page while the record is in the trash, and the way back.
//
// The server closes the record's sockets with 4404 and the reason "record deleted by <name>" when someone
// deletes it; y-websocket takes a 44xx close as final. This banner says who, offers Undo to editors,
// and follows the collection's change feed (feed.js) until the record is restored — by Undo here, from
// the trash page, by anyone — and then calls `onRestored`, which reconnects the page. Each time the feed
// (re)opens, the record itself is asked for too: a restore between the close and the stream is not missed.
import * as api from './api.js'
import { h } from './dom.js'
import { followCollection } from './feed.js'

const DELETED_BY = 'record deleted by '

/**
 * Whether a close reason says the record was deleted, and by whom ('' when the reason names nobody).
 * @param {string} reason
 * @returns {string | null} null: not a deletion
 */
export function deletedBy (reason) {
  if (typeof reason !== 'string') return null
  if (reason.startsWith(DELETED_BY)) return reason.slice(DELETED_BY.length).trim()
  return reason === 'record deleted' ? '' : null
}

/**
 * @param {string} recordId
 * @param {string} collection the record's collection (whose feed announces the restore)
 * @param {{canUndo: () => boolean, onRestored: () => void}} options
 */
export function deletedBanner (recordId, collection, { canUndo, onRestored }) {
  const who = h('span', { 'data-testid': 'deleted-by' })
  const undo = h('button', { type: 'button', class: 'secondary', 'data-testid': 'undo-delete' }, 'Undo')
  const problem = h('span', { class: 'problem', role: 'alert', hidden: true })
  const element = h('p', { class: 'banner deleted-banner', role: 'alert', hidden: true, 'data-testid': 'deleted-banner' },
    who, undo, problem)
  /** @type {AbortController | null} */
  let following = null

  const restored = () => {
    if (!following) return
    hide()
    onRestored()
  }
  const checkRecord = async () => {
    try {
      await api.getRecord(recordId)
    } catch {
      return // still deleted (404), or unreachable: the feed tells us later
    }
    restored()
  }
  undo.addEventListener('click', async () => {
    undo.disabled = true
    problem.hidden = true
    try {
      await api.undeleteRecord(recordId)
      restored()
    } catch (error) {
      problem.textContent = ` Could not restore it: ${error instanceof Error ? error.message : String(error)}`
      problem.hidden = false
    } finally {
      undo.disabled = false
    }
  })

  /** Show the banner and wait for the restore. @param {string} name who deleted it ('' unknown) */
  function show (name) {
    who.textContent = name ? `Deleted by ${name}` : 'This record was deleted'
    undo.hidden = !canUndo()
    if (!undo.hidden) who.append(' · ')
    problem.hidden = true
    element.hidden = false
    if (following) return
    following = new AbortController()
    followCollection(collection, following.signal, {
      open: () => { checkRecord() },
      record: (type, data) => { if (type === 'record.restored' && data.record === recordId) restored() },
      presence: () => {},
      reset: () => { checkRecord() }
    })
  }

  /** Hide it and stop following the feed. */
  function hide () {
    element.hidden = true
    following?.abort()
    following = null
  }

  return {
    element,
    show,
    hide,
    /** Whether the page is showing the record as deleted (waiting for its restore). */
    get showing () { return following !== null }
  }
}
