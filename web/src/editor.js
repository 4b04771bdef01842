// The record view: one control per field of the record's collection, all bound to one Y.Doc that is
// kept on this device (IndexedDB) and synced with the server's room for this record (y-websocket).
//
// Online, the record's metadata and its collection's fields come from the server and are kept with the
// document; offline, a record opened here before is shown from that copy and accepts edits, which the
// provider sends when the connection returns.
import * as Y from 'yjs'
import * as api from './api.js'
import { showConflicts } from './conflicts.js'
import { connectRecord } from './connection.js'
import { CLOSE } from './constants.js'
import { deletedBanner, deletedBy } from './deleted-banner.js'
import { duplicateButton } from './duplicate-button.js'
import { h, mount, pageHeading } from './dom.js'
import { historyDrawer } from './history.js'
import { keepLocally } from './local-store.js'
import { sendCreate } from './offline-create.js'
import { showPresence } from './presence.js'
import { recordForm } from './record-form.js'
import { whoAndWhen } from './record-meta.js'
import { loadRecord, titleOf } from './record-source.js'
import { restoredReview, setAsideAndForget } from './restored-copy.js'
import { saveBar } from './save-bar.js'
import { schemaWatch } from './schema-watch.js'
import { canEdit, currentUser, isAdmin } from './session.js'
import { COLLECTIONS_CHANGED } from './sidebar.js'
import { snapshotsDrawer } from './snapshots.js'
import { collectionHash, tabTitle } from './workspace.js'

// The server closes with 44xx when reconnecting cannot help; y-websocket then stops retrying.
/** @type {Record<number, string>} */
const CLOSE_REASONS = {
  [CLOSE.MALFORMED]: 'The server refused a malformed message.',
  [CLOSE.FORBIDDEN]: 'You no longer have access to this record.',
  [CLOSE.NOT_FOUND]: 'This record does not exist (any more).',
  [CLOSE.RESTORED]: 'This record was restored on the server: reload the page.',
  [CLOSE.TOO_LARGE]: 'That change was too large to send.',
  [CLOSE.RATE_LIMITED]: 'Too many changes at once.'
}

/** @typedef {import('./types.js').RecordData} RecordData */
/** @typedef {import('./types.js').RecordMeta} RecordMeta */
/** @typedef {import('./types.js').User} User */

/**
 * Render the record `recordId` into `root` and keep it live until `signal` aborts.
 * @param {HTMLElement} root
 * @param {string} recordId
 * @param {AbortSignal} signal
 * @param {{onSessionEnded: () => void, onCollection?: (name: string) => void}} app what to do when the
 *   server ends the session (4401); `onCollection` learns which collection the record is in
 */
export async function showEditor (root, recordId, signal, app) {
  const { onSessionEnded } = app
  const doc = new Y.Doc()
  const me = /** @type {User} */ (currentUser()) // this view is only shown signed in
  const local = await keepLocally(me, recordId, doc)
  let loaded
  try {
    loaded = await loadRecord(recordId, local)
  } catch (error) {
    await local.close()
    doc.destroy()
    if (error.offline) error.message = 'You are offline, and this record is not kept on this device yet.'
    throw error
  }
  if (signal.aborted) {
    await local.close()
    doc.destroy()
    return
  }
  const { record, collection } = loaded
  app.onCollection?.(collection.name)
  const fields = doc.getMap('fields')
  // Restored on the server since this copy was synced: never connect it (it would resurrect and duplicate
  // content). Its values are set aside for review, and the record opens afresh (restored-copy.js).
  if (loaded.fresh && record.epoch && local.synced && local.epoch && local.epoch !== record.epoch) {
    await setAsideAndForget(me, recordId, fields, () => local.close().finally(() => doc.destroy()))
    return showEditor(root, recordId, signal, app)
  }
  // The epoch this document connects in: the server's, or offline the one it last connected in.
  const epoch = loaded.fresh ? record.epoch ?? null : local.epoch
  if (loaded.fresh && record.epoch) local.rememberEpoch(record.epoch)
  let editable = canEdit()
  // What opening the record offline needs; the title names it in the list of records kept here.
  /** @type {RecordMeta} */
  let keptMeta = { ...record }
  delete keptMeta.fields
  /** @param {RecordData} fresh */
  const remember = (fresh) => {
    const { fields: values, ...meta } = fresh
    keptMeta = meta
    local.rememberRecord({ record: meta, collection, title: titleOf(collection, (key) => values[key]) })
  }
  if (record.fields) remember({ ...record, fields: record.fields })

  // A record made offline connects once the server has it (sendCreate below).
  const creating = local.saved ? local.creating : null
  const { provider, retry, release, destroy: disconnect } = connectRecord(recordId, doc, { held: creating !== null, epoch })

  const heading = pageHeading('', { class: 'record-title' })
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true })
  // Disabled until the document holds the server's state (from the server now, or kept here from an
  // earlier visit): typing into a still empty control would race the stored value. Viewers: always.
  const form = h('fieldset', { class: 'fields', disabled: true, 'data-testid': 'record-fields' },
    h('legend', { class: 'visually-hidden' }, 'Fields'))
  // Under each field: my replaced value with "Put mine back", or others' open conflict (conflicts.js).
  const conflicts = showConflicts(recordId, [], { me: me.id, canEdit: () => editable })
  // One control per field; archived fields are not shown (their values are kept).
  const controls = recordForm(fields, { awareness: provider.awareness, container: form, conflicts })
  controls.use(collection)
  // The fieldset switches the native controls; rich-text editors are switched one by one.
  /** @param {boolean} disabled */
  const setDisabled = (disabled) => {
    form.disabled = disabled
    controls.setReadOnly(disabled)
  }
  const enable = () => { if (editable) setDisabled(false) }
  const review = restoredReview(me, recordId, collection, fields, { canEdit: () => editable })
  const readOnly = h('p', { class: 'banner', role: 'note', hidden: editable, 'data-testid': 'read-only' },
    'You can view but not edit')
  // Deleted while open: "Deleted by X · Undo"; restored (here or anywhere), the page reconnects.
  const deleted = deletedBanner(recordId, collection.name, {
    canUndo: () => editable,
    onRestored: () => {
      problem.hidden = true
      retry() // the sync that follows enables the fields again (onSync)
    }
  })
  if (local.synced) enable()

  // Saved, saving, an error with Retry, and a copy of the edits this user can no longer save.
  const bar = saveBar(provider, { pending: local.pending, onPending: local.rememberPending }, {
    retry,
    collection,
    valueOf: (key) => fields.get(key),
    onState: (state) => { if (state.state !== 'error') problem.hidden = true }
  })
  const saveState = bar.saveState

  const avatars = h('ul', { class: 'avatars', 'aria-label': 'On this record now', 'data-testid': 'avatars' })
  const notices = h('div', { class: 'notices', role: 'status', 'aria-live': 'polite' })
  const presence = showPresence(provider, me, {
    avatars,
    notices,
    markers: controls.markers
  })
  // Which field we are in, for the others' markers. Leaving one field for the next fires focusout
  // before focusin, so the marker moves without lingering.
  /** @param {EventTarget | null} element */
  const fieldOf = (element) =>
    element instanceof Element ? element.closest('[data-field]')?.getAttribute('data-field') ?? null : null
  form.addEventListener('focusin', (event) => presence.editing(fieldOf(event.target)))
  form.addEventListener('focusout', () => presence.editing(null))

  const meta = whoAndWhen(record, { doc, online: () => provider.wsconnected, onRecord: remember })
  const history = historyDrawer(recordId, collection, { canEdit: editable })
  // Editors may take and compare snapshots; only admins restore one.
  const snapshots = editable ? snapshotsDrawer(recordId, collection, { canTake: true, canRestore: isAdmin() }) : null

  let holdsState = local.synced // the document holds the record (not still empty before the first sync)
  const showTitle = () => {
    const title = titleOf(collection, (key) => fields.get(key))
    if (heading.textContent === title) return
    heading.textContent = title
    document.title = tabTitle(title)
    // The list of records on this device names it as it is here, offline edits included.
    if (holdsState) local.rememberRecord({ record: keptMeta, collection, title })
  }
  /** @param {boolean} synced */
  const onSync = (synced) => {
    if (!synced) return
    holdsState = true
    local.rememberSynced()
    enable()
    // Back online: while we were away our value may have been replaced (or, arriving now, replace one).
    conflicts.refresh()
    review.refresh()
  }
  /** @param {{code: number, reason: string}} event */
  const onClosed = ({ code, reason }) => {
    if (code === CLOSE.RESTORED) {
      reopenRestored()
      return
    }
    if (code === CLOSE.NOT_FOUND && deleted.showing) return // a Retry while still deleted: the banner says it
    const deleter = code === CLOSE.NOT_FOUND ? deletedBy(reason) : null
    if (deleter !== null) {
      setDisabled(true)
      deleted.show(deleter)
      return
    }
    if (code === CLOSE.NOT_AUTHENTICATED) {
      if (saveState.unsaved() === 0) {
        onSessionEnded()
        return
      }
      // Edits not saved: stay, so the person sees them and can copy them, and sign in when ready.
      setDisabled(true)
      problem.replaceChildren('Your session has ended. ',
        h('button', { type: 'button', class: 'secondary', onclick: onSessionEnded }, 'Sign in again'))
      problem.hidden = false
      return
    }
    problem.textContent = CLOSE_REASONS[code] ?? `Disconnected: ${reason || code}`
    problem.hidden = false
  }
  // The server refuses a viewer's sync (harmless: nothing of theirs is applied), and an editor's
  // changes once an admin made them a viewer: from then on this page is read-only too.
  const onPermissionDenied = () => {
    if (!editable) return
    editable = false
    setDisabled(true)
    readOnly.hidden = false
    readOnly.textContent = saveState.unsaved() > 0
      ? 'Your role has changed: you can view but not edit, and your latest changes were not saved.'
      : 'Your role has changed: you can view but not edit.'
  }
  // Closing the tab keeps unsaved edits on this device, but only this device: say so before leaving.
  /** @param {BeforeUnloadEvent} event */
  const onBeforeUnload = (event) => { if (saveState.unsaved() > 0) event.preventDefault() }

  fields.observe(showTitle)
  provider.on('sync', onSync)
  provider.on('closed', onClosed)
  // connection.js's own event, which y-websocket's event map does not list.
  /** @type {any} */ const events = provider
  events.on('permission-denied', onPermissionDenied)
  events.on('conflicts', conflicts.refresh)
  // The server put one of my values right (a duplicate of a unique field, a value that does not fit):
  // each field says why.
  events.on('corrected', controls.corrected)
  window.addEventListener('beforeunload', onBeforeUnload)
  showTitle()
  if (!creating) conflicts.refresh() // else once connected (onSync): the server has no such record yet
  if (creating) {
    sendCreate(recordId, creating.collection, signal, {
      onCreated: async () => {
        await local.created().catch(() => {})
        // From now on in the server's epoch: a restore is then told (4409), never merged.
        const created = await api.getRecord(recordId).then((found) => found.epoch, () => undefined)
        if (created) local.rememberEpoch(created)
        if (!signal.aborted) release(created)
      },
      onRefused: (error) => {
        problem.textContent = `This record could not be created on the server: ${error.message}`
        problem.hidden = false
      }
    })
  }

  const crumb = h('a', { href: collectionHash(collection.name) }, `← ${collection.label}`)
  // An admin changed the collection's label or fields meanwhile: the page follows at once (as the room
  // does), and the copy kept on this device opens with them.
  /** @param {import('./schema-watch.js').Schema} changed */
  const useSchema = (changed) => {
    collection.label = changed.label
    collection.fields = changed.fields // shared: what reads it later (a restored copy's review) gets them too
    crumb.textContent = `← ${collection.label}`
    controls.use(collection)
    showTitle()
    if (holdsState) local.rememberRecord({ record: keptMeta, collection, title: titleOf(collection, (key) => fields.get(key)) })
    window.dispatchEvent(new Event(COLLECTIONS_CHANGED)) // the sidebar shows the new label
  }
  // Followed while the record's socket is connected (schema-watch.js says why).
  const schema = schemaWatch(collection, useSchema)
  provider.on('sync', (/** @type {boolean} */ synced) => { if (synced && !signal.aborted) schema.start() })
  provider.on('status', (/** @type {{status: string}} */ { status }) => { if (status !== 'connected') schema.stop() })

  mount(root,
    h('nav', { class: 'crumbs' }, crumb),
    h('div', { class: 'record-head' }, heading, bar.element),
    meta.element,
    h('div', { class: 'record-bar' }, avatars,
      h('div', { class: 'record-actions' }, history.button, snapshots?.button, editable ? duplicateButton(recordId) : null)),
    notices,
    readOnly,
    deleted.element,
    problem,
    review.element,
    h('form', { class: 'record', onsubmit: (/** @type {SubmitEvent} */ event) => event.preventDefault() }, form),
    history.dialog,
    snapshots?.dialog)

  const stop = () => {
    window.removeEventListener('beforeunload', onBeforeUnload)
    fields.unobserve(showTitle)
    controls.destroy()
    conflicts.stop()
    schema.stop()
    deleted.hide()
    meta.stop()
    presence.stop()
    saveState.stop()
    disconnect()
    return local.close().finally(() => doc.destroy())
  }
  signal.addEventListener('abort', stop, { once: true })
  // The server refused this copy (4409: restored since it was synced): set it aside, open afresh.
  let reopening = false
  async function reopenRestored () {
    if (reopening || signal.aborted) return
    reopening = true
    signal.removeEventListener('abort', stop)
    await setAsideAndForget(me, recordId, fields, stop)
    if (!signal.aborted) await showEditor(root, recordId, signal, app)
  }
}
