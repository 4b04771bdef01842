// A record as lists show it: the change feed sends whole field values, the list API shortened ones, and
// a row fed by the feed must look like one the API gave. Pure, so it is unit-tested
// (web/test/record-list.test.js); the table's rows (table-data.js) apply feed events with it.
import { SUMMARY_TEXT_CHARS } from './constants.js'

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
