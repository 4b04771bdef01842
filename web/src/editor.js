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
import { bindField, shownFields, titleField } from './fields.js'
import { historyDrawer } from './history.js'
import { keepLocally } from './local-store.js'
import { sendCreate } from './offline-create.js'
import { showPresence } from './presence.js'
import { whoAndWhen } from './record-meta.js'
import { restoredReview, setAsideAndForget } from './restored-copy.js'
import { watchSaveState } from './save-state.js'
import { cannotSave, describeSaveState, unsavedText } from './save-status.js'
import { canEdit, currentUser, isAdmin } from './session.js'
import { snapshotsDrawer } from './snapshots.js'
import { toast } from './toast.js'
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

/** @typedef {import('./types.js').Collection} Collection */
/** @typedef {import('./types.js').RecordData} RecordData */
/** @typedef {import('./types.js').RecordMeta} RecordMeta */
/** @typedef {import('./types.js').User} User */
/** @typedef {Awaited<ReturnType<typeof keepLocally>>} Local */

/**
 * The record's title, from the collection's first text field; `valueOf(key)` reads a field.
 * @param {Collection} collection
 * @param {(key: string) => unknown} valueOf
 */
function titleOf (collection, valueOf) {
  const key = titleField(collection)
  const title = key ? valueOf(key) : null
  return typeof title === 'string' && title.trim() ? title : 'Untitled'
}

/**
 * The record and its collection: from the server (`fresh`), or from this device's copy when offline.
 * @param {string} recordId
 * @param {Local} local
 * @returns {Promise<{record: RecordMeta, collection: Collection, fresh?: boolean}>}
 */
async function load (recordId, local) {
  // Made on this device and not on the server yet: this device's copy is the record.
  if (local.creating && local.saved) return local.saved
  try {
    const [record, collections] = await Promise.all([api.getRecord(recordId), api.listCollections()])
    const collection = collections.find((c) => c.name === record.collection)
    if (!collection) throw new Error(`unknown collection ${record.collection}`)
    return { record, collection, fresh: true }
  } catch (error) {
    // Offline, a copy is only good to edit if it ever held the server's state: an empty document would
    // race the stored values (two first writes of a rich-text field: one is lost).
    if (!error.offline || !local.saved || !local.synced) throw error
    return local.saved
  }
}

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
    loaded = await load(recordId, local)
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
  const indicator = h('p', { class: 'save-state', role: 'status', 'data-testid': 'save-state' })
  const retryButton = h('button', { type: 'button', class: 'secondary', hidden: true, onclick: retry }, 'Retry')
  // Edits this user can no longer save (role lowered, account ended) stay on this device: offer a copy.
  const copyButton = h('button', {
    type: 'button',
    class: 'secondary',
    hidden: true,
    onclick: () => {
      const labels = new Map(collection.fields.map((spec) => [spec.key, spec.label]))
      const unsaved = saveState.unsavedFields().map((key) => ({ label: labels.get(key) ?? key, value: fields.get(key) }))
      navigator.clipboard.writeText(unsavedText(unsaved)).then(() => toast('Your edits are copied'), () => {})
    }
  }, 'Copy my edits')
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true })
  // Disabled until the document holds the server's state (from the server now, or kept here from an
  // earlier visit): typing into a still empty control would race the stored value. Viewers: always.
  const form = h('fieldset', { class: 'fields', disabled: true, 'data-testid': 'record-fields' },
    h('legend', { class: 'visually-hidden' }, 'Fields'))
  // Archived fields are not shown (their values are kept).
  const specs = shownFields(collection)
  const bindings = specs.map((spec) => bindField(spec, fields, { awareness: provider.awareness }))
  form.append(...bindings.map((binding) => binding.element))
  // Under each field: my replaced value with "Put mine back", or others' open conflict (conflicts.js).
  const conflicts = showConflicts(recordId,
    specs.map((spec, i) => ({ key: spec.key, element: bindings[i].element })),
    { me: me.id, canEdit: () => editable })
  // The fieldset switches the native controls; rich-text editors are switched one by one.
  /** @param {boolean} disabled */
  const setDisabled = (disabled) => {
    form.disabled = disabled
    for (const binding of bindings) binding.setReadOnly(disabled)
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

  const saveState = watchSaveState(provider, { pending: local.pending, onPending: local.rememberPending },
    (state) => {
      indicator.textContent = describeSaveState(state)
      indicator.dataset.state = state.state
      retryButton.hidden = state.state !== 'error'
      copyButton.hidden = !cannotSave(state)
      if (state.state !== 'error') problem.hidden = true
    })

  const avatars = h('ul', { class: 'avatars', 'aria-label': 'On this record now', 'data-testid': 'avatars' })
  const notices = h('div', { class: 'notices', role: 'status', 'aria-live': 'polite' })
  const presence = showPresence(provider, me, {
    avatars,
    notices,
    markers: Object.fromEntries(specs.map((spec, i) => [spec.key, bindings[i].marker]))
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
  events.on('corrected', (/** @type {Record<string, string>} */ reasons) => {
    specs.forEach((spec, i) => { if (typeof reasons?.[spec.key] === 'string') bindings[i].corrected(reasons[spec.key]) })
  })
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

  mount(root,
    h('nav', { class: 'crumbs' }, h('a', { href: collectionHash(collection.name) }, `← ${collection.label}`)),
    h('div', { class: 'record-head' }, heading, h('div', { class: 'save' }, indicator, retryButton, copyButton)),
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
    for (const binding of bindings) binding.destroy()
    conflicts.stop()
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
