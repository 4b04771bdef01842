// Open conflicts on a record page. Scalar fields are last-writer-wins: when two people set one at the same
// time, one value replaces the other. The person whose value was replaced sees, under the field, whose
// value won and what theirs was, with "Put mine back" and "Keep theirs"; everyone else sees a small
// "Open conflict" mark until someone settles it. The page asks the server again whenever the room says
// the record's conflicts changed (message 101 "conflicts"), and after each (re)connection.
import * as api from './api.js'
import { byField, canPutBack, markTitle, noticeWords } from './conflict-notice.js'
import { h } from './dom.js'
import { toast } from './toast.js'

const SHOWN_CHARS = 200 // of each value in a notice; the history drawer has them whole

/** @typedef {import('./conflict-notice.js').Conflict} Conflict */

/**
 * Put a notice slot at the end of each field's element and keep them showing the record's open conflicts.
 * @param {string} recordId
 * @param {Array<{key: string, element: HTMLElement}>} fields
 * @param {{me: string, canEdit: () => boolean}} options who I am; whether I may settle (editors)
 * `attach` and `detach` follow fields that come and go (record-form.js: the schema changed).
 * @returns {{refresh: () => Promise<void>, stop: () => void, attach: (key: string, element: HTMLElement) => void,
 *   detach: (key: string) => void}}
 */
export function showConflicts (recordId, fields, { me, canEdit }) {
  /** @type {Map<string, HTMLElement>} */
  const slots = new Map()
  /** @param {string} key @param {HTMLElement} element */
  const slotFor = (key, element) => {
    const slot = h('div', { class: 'conflict-slot', 'data-testid': `conflict-${key}` })
    element.append(slot)
    slots.set(key, slot)
  }
  for (const { key, element } of fields) slotFor(key, element)
  /** @type {Conflict[]} */
  let open = []
  let asked = 0
  let stopped = false

  const draw = () => {
    const perField = byField(open, me)
    for (const [key, slot] of slots) {
      const entry = perField.get(key)
      if (!entry) {
        slot.replaceChildren()
        continue
      }
      if (entry.mine) {
        slot.replaceChildren(notice(entry.mine))
      } else {
        const others = open.filter((conflict) => conflict.field === key)
        slot.replaceChildren(h('span', {
          class: 'conflict-mark', title: markTitle(others, SHOWN_CHARS), 'data-testid': `conflict-mark-${key}`
        }, '⚠ Open conflict'))
      }
    }
  }

  /** @param {Conflict} conflict */
  const notice = (conflict) => {
    const words = noticeWords(conflict, SHOWN_CHARS)
    const buttons = canEdit()
      ? [
          canPutBack(conflict)
            ? h('button', { type: 'button', onclick: () => settle(api.putConflictBack, conflict, 'put your value back') },
              'Put mine back')
            : null,
          h('button', { type: 'button', class: 'secondary', onclick: () => settle(api.keepConflict, conflict, 'keep theirs') },
            'Keep theirs')
        ]
      : []
    return h('div', { class: 'conflict-notice', role: 'status', 'data-testid': `conflict-notice-${conflict.field}` },
      h('p', {}, words.won, ' ', words.yours), h('div', { class: 'conflict-actions' }, ...buttons))
  }

  /**
   * @param {(recordId: string, changeId: number) => Promise<unknown>} action
   * @param {Conflict} conflict
   * @param {string} what for the error message
   */
  const settle = async (action, conflict, what) => {
    const slot = slots.get(conflict.field)
    for (const button of slot?.querySelectorAll('button') ?? []) button.disabled = true
    try {
      await action(recordId, conflict.id)
    } catch (error) {
      // 409: someone settled it meanwhile; the refresh below shows what is open now.
      if (error.status !== 409) toast(`Could not ${what}: ${error.message}`)
    }
    await refresh()
  }

  const refresh = async () => {
    const mine = ++asked
    try {
      const found = await api.recordConflicts(recordId)
      if (mine !== asked || stopped) return
      open = found
      draw()
    } catch (error) {
      // Offline or a passing failure: what is shown stays until the next notice or reconnection asks again.
      // 404: the record was deleted meanwhile (its page says so, and asks again once it is back).
      const gone = error.status === 404
      if (!error.offline && !gone && !stopped) console.warn('open conflicts could not be read', error)
    }
  }

  return {
    refresh,
    stop () { stopped = true },
    attach (key, element) {
      slotFor(key, element)
      draw()
    },
    detach (key) { slots.delete(key) }
  }
}
