// Following a collection's schema while a page shows it: an admin may add, relabel, reorder or archive
// fields meanwhile (`PATCH /api/collections/NAME`), which the collection's change feed announces as
// `collection.updated` with the new label and fields.
//
// `schemaFollower` is the part any page plugs into the feed stream it already holds (the table's); a
// (re)connection that may have missed a change (not resumed, not the initial one: e.g. a tab shown again
// after it was hidden, feed.js) reads the schema again. `schemaWatch` is the record page's own stream.
//
// The record page follows only while its record's socket is connected (`start` and `stop`): the socket is
// what tells it that the session ended or access was lost, and what then happens to unsaved edits, so
// this stream must never decide that (it is `quiet`).
import * as api from './api.js'
import { followCollection } from './feed.js'

/** @typedef {{label: string, fields: import('./types.js').FieldSpec[]}} Schema */

/** @param {Schema} a @param {Schema} b */
const same = (a, b) => a.label === b.label && JSON.stringify(a.fields) === JSON.stringify(b.fields)

/**
 * The feed handlers that call `changed` with the collection's new label and fields each time they change.
 * @param {{name: string} & Schema} collection as the page shows it now (just read from the server)
 * @param {(schema: Schema) => void} changed
 * @param {() => boolean} [active] whether the page still wants to hear (an answer may come after it left)
 */
export function schemaFollower (collection, changed, active = () => true) {
  let shown = { label: collection.label, fields: collection.fields }

  /** @param {Schema} schema */
  const use = (schema) => {
    if (!active() || same(schema, shown)) return
    shown = { label: schema.label, fields: schema.fields }
    changed(shown)
  }
  const reread = async () => {
    try {
      const fresh = (await api.listCollections()).find((c) => c.name === collection.name)
      if (fresh) use(fresh)
    } catch (error) {
      // Offline or a passing failure: the next (re)connection asks again.
      if (!error.offline && error.status !== 401) console.warn('the collection could not be read again', error)
    }
  }
  return {
    /** The feed's `open`. @param {{resumed: boolean, initial: boolean}} state */
    open ({ resumed, initial }) {
      if (!resumed && !initial) reread()
    },
    reset: reread,
    schema: use
  }
}

/**
 * Call `changed` with the collection's new label and fields each time they change while started.
 * @param {{name: string} & Schema} collection as the page shows it now (just read from the server)
 * @param {(schema: Schema) => void} changed
 */
export function schemaWatch (collection, changed) {
  /** @type {AbortController | null} */
  let following = null
  let known = true // the page has just read the schema: the first stream's initial open need not read it
  const follower = schemaFollower(collection, changed, () => following !== null)

  return {
    start () {
      if (following) return
      following = new AbortController()
      followCollection(collection.name, following.signal, {
        open ({ resumed, initial }) {
          follower.open({ resumed, initial: initial && known })
        },
        record: () => {},
        presence: () => {},
        reset: follower.reset,
        schema: follower.schema,
        quiet: true
      })
    },
    stop () {
      if (following) known = false // a change may come while stopped: the next stream reads the schema
      following?.abort()
      following = null
    }
  }
}
