// Which columns a person sees in a collection's table, in which order and how wide: remembered on this
// device in localStorage, under a key per tenant, user and collection, so two people sharing a browser
// (or one person in two organisations) keep their own. Pure apart from the storage passed in, so it is
// unit-tested (web/test/column-prefs.test.js).
//
// What is stored is only a preference: columns of fields added since appear (at the end), those of fields
// removed or archived are left out, and widths are kept within MIN_WIDTH..MAX_WIDTH whatever was stored.

export const MIN_WIDTH = 60
export const MAX_WIDTH = 800

/** @typedef {{ order: string[], hidden: string[], widths: Record<string, number> }} ColumnPrefs */

/** @typedef {{ getItem: (key: string) => string | null, setItem: (key: string, value: string) => void }} Storage */

/**
 * The storage key of one person's columns in one collection.
 * @param {{ tenant: string, id: string }} user @param {string} collection
 */
export const prefsKey = (user, collection) =>
  `collab.columns:${encodeURIComponent(user.tenant)}:${encodeURIComponent(user.id)}:${encodeURIComponent(collection)}`

/**
 * The stored preferences made to fit the columns there are now (`keys`, in the schema's order).
 * @param {string | null} stored the JSON in storage, if any
 * @param {string[]} keys
 * @returns {ColumnPrefs}
 */
export function fitPrefs (stored, keys) {
  /** @type {any} */
  let raw = null
  try {
    raw = stored ? JSON.parse(stored) : null
  } catch {
    raw = null // someone else's or an old format: start from the schema
  }
  const known = new Set(keys)
  const strings = (/** @type {any} */ list) => Array.isArray(list) ? list.filter((key) => typeof key === 'string' && known.has(key)) : []
  const order = [...new Set(strings(raw?.order))]
  for (const key of keys) if (!order.includes(key)) order.push(key)
  /** @type {Record<string, number>} */
  const widths = {}
  for (const [key, width] of Object.entries(raw?.widths ?? {})) {
    if (known.has(key) && typeof width === 'number' && Number.isFinite(width)) widths[key] = clampWidth(width)
  }
  return { order, hidden: [...new Set(strings(raw?.hidden))], widths }
}

/** @param {number} width */
export const clampWidth = (width) => Math.round(Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, width)))

/**
 * Read one person's columns of one collection.
 * @param {Storage} storage @param {string} key prefsKey's @param {string[]} keys the columns there are
 */
export function loadPrefs (storage, key, keys) {
  let stored = null
  try {
    stored = storage.getItem(key)
  } catch {
    stored = null // storage refused (private mode, a quota): the schema's columns
  }
  return fitPrefs(stored, keys)
}

/**
 * Remember them; a refusing storage only means they are not remembered.
 * @param {Storage} storage @param {string} key @param {ColumnPrefs} prefs
 */
export function savePrefs (storage, key, prefs) {
  try {
    storage.setItem(key, JSON.stringify(prefs))
  } catch (error) {
    console.warn('column preferences not remembered', error)
  }
}

/**
 * The order with `key` moved one place left (-1) or right (+1) among the visible columns.
 * @param {ColumnPrefs} prefs @param {string} key @param {-1 | 1} step
 * @returns {ColumnPrefs}
 */
export function moved (prefs, key, step) {
  const visible = prefs.order.filter((k) => !prefs.hidden.includes(k))
  const at = visible.indexOf(key)
  const swapWith = visible[at + step]
  if (at < 0 || swapWith === undefined) return prefs
  const order = [...prefs.order]
  const i = order.indexOf(key)
  const j = order.indexOf(swapWith)
  order[i] = swapWith
  order[j] = key
  return { ...prefs, order }
}

/**
 * The preferences with `key` shown or hidden. The last visible column cannot be hidden.
 * @param {ColumnPrefs} prefs @param {string} key @param {boolean} show
 * @returns {ColumnPrefs}
 */
export function toggled (prefs, key, show) {
  const hidden = prefs.hidden.filter((k) => k !== key)
  if (!show) {
    if (prefs.order.filter((k) => !hidden.includes(k) && k !== key).length === 0) return prefs
    hidden.push(key)
  }
  return { ...prefs, hidden }
}
