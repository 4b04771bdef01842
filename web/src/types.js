// The shapes the server's JSON API answers with, as the app reads them: the vocabulary every module's
// JSDoc imports (`import('./types.js').User`) so `tsc --checkJs` checks the app against one description of
// the contract. Types only: nothing here runs.

/**
 * Who did something, as the API names people (`null` where the server did it itself).
 * @typedef {{ id: string, name: string, email?: string }} Person
 */

/**
 * The signed-in user (`GET /api/auth/me`, the login answer).
 * @typedef {{ id: string, email: string, name: string, role: string, tenant: string, color?: string }} User
 */

/**
 * One field of a collection: `options` for `select` and `multiselect`, `scale` (digits after the point)
 * for `decimal`, `target` (a collection name) and `many` for `link`; `required`, `unique`; `archived`
 * fields are hidden from forms (their values are kept).
 * @typedef {{ key: string, label: string, type: string, options?: string[], scale?: number, target?: string,
 *   many?: boolean, required?: boolean, unique?: boolean, archived?: boolean }} FieldSpec
 */

/** @typedef {{ name: string, label: string, fields: FieldSpec[] }} Collection */

/**
 * A record's metadata; `fields` holds its values (shortened in lists, whole from `GET /api/records/ID`).
 * @typedef {{
 *   id: string,
 *   collection?: string,
 *   fields: Record<string, any>,
 *   created_at: string,
 *   created_by: Person | null,
 *   updated_at: string,
 *   updated_by: Person | null,
 *   open_conflicts?: number,
 *   epoch?: string
 * }} RecordData
 */

/** @typedef {Omit<RecordData, 'fields'> & { fields?: Record<string, any> }} RecordMeta */

/**
 * One entry of a record's history; a conflict names the value that was kept and the one that lost.
 * @typedef {{
 *   id: number,
 *   at: string,
 *   user: Person | null,
 *   field: string,
 *   before: any,
 *   after: any,
 *   origin: string,
 *   conflict: boolean,
 *   comment?: string | null,
 *   winner?: { value: any, user: Person | null },
 *   lost?: { value: any, user: Person | null }
 * }} Change
 */

/** @typedef {{ id: number, at: string, reason: string, created_by: Person | null }} Snapshot */

/**
 * A snapshot next to the record now (`other.id` is null) or another snapshot.
 * @typedef {{
 *   snapshot: { id: number, at: string },
 *   other: { id: number | null, at: string },
 *   fields: Array<{ field: string, snapshot: any, other: any, changed: boolean }>
 * }} Comparison
 */

/**
 * A page of a list read newest first: `next_before` asks for the page after it, null on the last.
 * @template T
 * @typedef {{ items: T[], next_before: number | null }} Page
 */

/**
 * @typedef {{ id: string, device: string | null, ip: string | null, created_at: string, last_seen_at: string,
 *   current: boolean }} Session
 */

/** @typedef {{ id: string, email: string, name: string, role: string, active: boolean, password?: string }} Account */

/**
 * @typedef {{ id: string, name: string, since: string,
 *   records: Array<{ id: string, collection: string, title: string | null, since: string }> }} OnlinePerson
 */

/**
 * @typedef {{ id: number, at: string, action: string, actor: Person | null, target: Person | null,
 *   ip: string | null, detail: Record<string, any> | null }} AuditEntry
 */

export {}
