// The list of a collection's records as data: what a change-feed event does to it. Pure, so it is
// unit-tested (web/test/record-list.test.js); records.js draws the result.
import { SUMMARY_TEXT_CHARS } from './constants.js'

/** @typedef {import('./types.js').RecordData} RecordData */

/**
 * A `record.*` event's data: the record, when, by whom, and (created, updated) its whole field values.
 * @typedef {{ record: string, at: string, by: import('./types.js').Person | null, fields?: Record<string, any> }} RecordEvent
 */

/**
 * Field values as lists show them: the feed sends whole values, the list API shortened ones.
 * @param {Record<string, any> | undefined} fields
 * @returns {Record<string, any>}
 */
export const summarize = (fields) => Object.fromEntries(Object.entries(fields ?? {}).map(([key, value]) =>
  [key, typeof value === 'string' && value.length > SUMMARY_TEXT_CHARS ? value.slice(0, SUMMARY_TEXT_CHARS) + '…' : value]))

/**
 * Apply one feed event to `records` (newest first, changed in place). Returns true when only the server
 * can tell what the list should show: a search is on, or a restored record goes back among older ones.
 * @param {RecordData[]} records
 * @param {string} type the event's type
 * @param {RecordEvent} data
 * @param {boolean} searching whether the list shows a search's answer
 */
export function applyEvent (records, type, data, searching) {
  const at = records.findIndex((record) => record.id === data.record)
  switch (type) {
    case 'record.created':
      if (searching) return true
      // Never twice: the user's own new record, or one a list reload already brought.
      if (at < 0) {
        records.unshift({
          id: data.record,
          fields: summarize(data.fields),
          created_at: data.at,
          created_by: data.by,
          updated_at: data.at,
          updated_by: data.by
        })
      }
      return false
    case 'record.updated':
      if (at >= 0) {
        const old = records[at]
        records[at] = { ...old, fields: { ...old.fields, ...summarize(data.fields) }, updated_at: data.at, updated_by: data.by }
      }
      return searching // the edit may make the record match the search, or stop matching
    case 'record.deleted':
      if (at >= 0) records.splice(at, 1)
      return false
    case 'record.restored':
      return true
    case 'record.conflicts':
      // Its fields hold the record's count of open conflicts now (lists show a marker while there are any).
      if (at >= 0) records[at] = { ...records[at], open_conflicts: Number(data.fields?.open_conflicts) || 0 }
      return false
    default:
      return false
  }
}
