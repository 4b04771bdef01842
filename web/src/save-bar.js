// The record page's save state, beside its title: "Saved ✓ · 10:42", "Saving…", an error with Retry, and
// "Copy my edits" when this user's edits can no longer be saved (role lowered, account ended): they stay
// on this device, so a copy is offered (save-state.js follows the provider; save-status.js words it).
import { h } from './dom.js'
import { watchSaveState } from './save-state.js'
import { cannotSave, describeSaveState, unsavedText } from './save-status.js'
import { toast } from './toast.js'

/**
 * @param {import('y-websocket').WebsocketProvider} provider
 * @param {Parameters<typeof watchSaveState>[1]} kept the unconfirmed edits this device keeps (save-state.js)
 * @param {{
 *   retry: () => void,
 *   collection: import('./types.js').Collection,
 *   valueOf: (key: string) => unknown,
 *   onState: (state: import('./save-status.js').SaveState) => void
 * }} page the record's collection (its labels as they are at the time) and a field's value now
 */
export function saveBar (provider, kept, { retry, collection, valueOf, onState }) {
  const indicator = h('p', { class: 'save-state', role: 'status', 'data-testid': 'save-state' })
  const retryButton = h('button', { type: 'button', class: 'secondary', hidden: true, onclick: retry }, 'Retry')
  const copyButton = h('button', {
    type: 'button',
    class: 'secondary',
    hidden: true,
    onclick: () => {
      const labels = new Map(collection.fields.map((spec) => [spec.key, spec.label]))
      const unsaved = saveState.unsavedFields().map((key) => ({ label: labels.get(key) ?? key, value: valueOf(key) }))
      navigator.clipboard.writeText(unsavedText(unsaved)).then(() => toast('Your edits are copied'), () => {})
    }
  }, 'Copy my edits')
  const saveState = watchSaveState(provider, kept, (state) => {
    indicator.textContent = describeSaveState(state)
    indicator.dataset.state = state.state
    retryButton.hidden = state.state !== 'error'
    copyButton.hidden = !cannotSave(state)
    onState(state)
  })
  return { element: h('div', { class: 'save' }, indicator, retryButton, copyButton), saveState }
}
