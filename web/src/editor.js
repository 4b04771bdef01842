// The record view: one control per field of the record's collection, all bound to one Y.Doc that a
// y-websocket provider keeps in sync with the server's room for this record.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import * as api from './api.js'
import { h, mount } from './dom.js'
import { bindField, titleField } from './fields.js'
import { describeSaveState, watchSaveState } from './save-state.js'
import { canEdit, currentToken } from './session.js'

// The server closes with 44xx when reconnecting cannot help; y-websocket then stops retrying.
const CLOSE_REASONS = {
  4400: 'The server refused a malformed message. Reload the page.',
  4401: 'Your session has ended. Sign in again.',
  4403: 'You no longer have access to this record.',
  4404: 'This record does not exist (any more).',
  4413: 'That change was too large to send. Reload the page.',
  4429: 'Too many changes at once. Reload the page.'
}

/** `ws(s)://<this host>/ws`: the provider appends `/<record id>`. */
function socketBase () {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${location.host}/ws`
}

/**
 * Render the record `recordId` into `root` and keep it live until `signal` aborts.
 * @param {HTMLElement} root
 * @param {string} recordId
 * @param {AbortSignal} signal
 */
export async function showEditor (root, recordId, signal) {
  const [record, collections] = await Promise.all([api.getRecord(recordId), api.listCollections()])
  if (signal.aborted) return
  const collection = collections.find((c) => c.name === record.collection)
  if (!collection) throw new Error(`unknown collection ${record.collection}`)

  const doc = new Y.Doc()
  const fields = doc.getMap('fields')
  const token = currentToken()
  // Without a token (a tab opened after sign-in elsewhere) the handshake's session cookie is used.
  // disableBc: tabs of one browser must sync through the server, which checks each one's role.
  const provider = new WebsocketProvider(socketBase(), recordId, doc, {
    params: token ? { token } : {},
    disableBc: true
  })

  const heading = h('h2', { class: 'record-title' })
  const indicator = h('p', { class: 'save-state', role: 'status', 'data-testid': 'save-state' })
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true })
  // Disabled until the first sync: typing into a still empty control would race the stored value.
  const form = h('fieldset', { class: 'fields', disabled: true, 'data-testid': 'record-fields' },
    h('legend', { class: 'visually-hidden' }, 'Fields'))
  const bindings = collection.fields.map((spec) => bindField(spec, fields, { readOnly: !canEdit() }))
  form.append(...bindings.map((binding) => binding.element))

  const saveState = watchSaveState(provider, (state) => {
    indicator.textContent = describeSaveState(state)
    indicator.dataset.state = state.state
  })

  const titleKey = titleField(collection)
  const showTitle = () => {
    const title = titleKey ? fields.get(titleKey) : null
    heading.textContent = typeof title === 'string' && title.trim() ? title : 'Untitled'
  }
  const onSync = (synced) => { if (synced) form.disabled = false }
  const onClosed = ({ code, reason }) => {
    problem.textContent = CLOSE_REASONS[code] ?? `Disconnected: ${reason || code}`
    problem.hidden = false
  }
  // Closing the tab drops edits the server has not stored yet: ask first.
  const onBeforeUnload = (event) => { if (saveState.unsaved()) event.preventDefault() }

  fields.observe(showTitle)
  provider.on('sync', onSync)
  provider.on('closed', onClosed)
  window.addEventListener('beforeunload', onBeforeUnload)
  showTitle()

  mount(root,
    h('nav', { class: 'crumbs' }, h('a', { href: '#/' }, `← ${collection.label}`)),
    h('div', { class: 'record-head' }, heading, indicator),
    problem,
    h('form', { class: 'record', onsubmit: (event) => event.preventDefault() }, form))

  signal.addEventListener('abort', () => {
    window.removeEventListener('beforeunload', onBeforeUnload)
    for (const binding of bindings) binding.destroy()
    saveState.stop()
    provider.destroy()
    doc.destroy()
  }, { once: true })
}
