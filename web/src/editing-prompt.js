// "Ana is editing Name right now. [Wait] [Go ahead]": before I type over someone in a scalar field.
//
// Last writer wins in a scalar field, so two people typing into one at once replace each other's value.
// When I focus such a field, or type into it, while another person is editing it right now, a prompt
// under the field says who and offers to wait or to go ahead. It never blocks: typing goes on while it
// shows. Wait leaves the field (so I write nothing) until they leave it, then says they are done; Go
// ahead hides it until I leave the field. Rich text has no prompt: carets show and typing merges.
//
// "Editing right now" is two things in their awareness state: `field` (presence.js: the field they are
// in) and `active`, which this module sets to the field's key while I focus or type in it and clears
// ACTIVE_MS after my last keystroke, or when I leave. Someone who sat in a field for minutes without
// typing is shown by the presence marker only.
//
// The prompt's region (role=status) also carries the field's short notices (`say`, under the prompt):
// why undo did nothing, what was stored while a number was half typed.
import { h } from './dom.js'

export const ACTIVE_MS = 10_000
const DONE_SHOWN_MS = 10_000

/**
 * The names of the other people (not `me`, in no tab of theirs) whose awareness says they are in `key`,
 * and, when `active` is asked for, have focused it or typed in it within ACTIVE_MS.
 * @param {Map<number, Record<string, any>>} states awareness states by client id
 * @param {string | undefined} me my user id
 * @param {string} key
 * @param {{active: boolean}} options
 * @returns {string[]}
 */
export function othersIn (states, me, key, { active }) {
  /** @type {Map<string, string>} */
  const people = new Map()
  for (const state of states.values()) {
    const user = state?.user
    if (typeof user?.id !== 'string' || user.id === me || state.field !== key) continue
    if (active && state.active !== key) continue
    people.set(user.id, typeof user.name === 'string' && user.name ? user.name : 'Someone')
  }
  return [...people.values()]
}

/** "Ana", "Ana and Bob", "Ana, Bob and Cy". @param {string[]} names */
export function listed (names) {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`
}

/**
 * The prompt for one scalar field. The field calls `focused` and `typed` from its control's events and
 * `left` when the focus leaves the control and the prompt.
 * @param {{key: string, label: string, control: HTMLElement,
 *   awareness: import('y-protocols/awareness').Awareness}} field
 */
export function editingPrompt ({ key, label, control, awareness }) {
  const question = h('span', { class: 'editing-question' })
  const note = h('span', { class: 'editing-note' })
  const element = h('div', {
    class: 'editing-prompt', role: 'status', 'aria-live': 'polite', tabindex: '-1', 'data-testid': `editing-prompt-${key}`
  }, question, note)
  /** @type {'idle' | 'asking' | 'waiting' | 'done'} */
  let state = 'idle'
  let goneAhead = false // Go ahead: no prompt until I leave the field
  /** Who the prompt named, then who I wait for. @type {string[]} */
  let waitingFor = []
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let activeTimer
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let shownTimer
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let noteTimer

  const me = () => awareness.getLocalState()?.user?.id
  /** @param {{active: boolean}} options */
  const others = (options) => othersIn(awareness.getStates(), me(), key, options)

  /** @param {typeof state} next @param {...(Node | string)} content */
  const show = (next, ...content) => {
    state = next
    clearTimeout(shownTimer)
    question.replaceChildren(...content)
    element.classList.toggle('shown', question.hasChildNodes() || note.hasChildNodes())
  }
  const clear = () => show('idle')
  // The buttons keep the focus in the control when clicked, so clicking one is not leaving the field.
  /** @param {string} text @param {() => void} run */
  const button = (text, run) => h('button', {
    type: 'button', class: 'secondary', onmousedown: (/** @type {Event} */ e) => e.preventDefault(), onclick: run
  }, text)

  const ask = () => {
    const names = others({ active: true })
    if (names.length === 0) {
      if (state === 'asking') clear()
      return
    }
    const verb = names.length > 1 ? 'are' : 'is'
    waitingFor = names
    show('asking', h('span', {}, `${listed(names)} ${verb} editing ${label} right now.`), ' ',
      button('Wait', wait), ' ', button('Go ahead', goAhead))
  }
  const wait = () => {
    const still = others({ active: false })
    if (still.length > 0) waitingFor = still
    show('waiting', `Waiting for ${listed(waitingFor)} to finish ${label}…`)
    // Out of the control, so nothing of mine is written; the focus stays here, by the field.
    element.focus()
    stopActive()
    goneAhead = false
    watch()
  }
  const goAhead = () => {
    goneAhead = true
    clear()
    control.focus()
  }
  const watch = () => {
    if (state === 'asking') ask()
    if (state === 'waiting' && others({ active: false }).length === 0) {
      show('done', `${listed(waitingFor)} ${waitingFor.length > 1 ? 'are' : 'is'} done — go ahead.`)
      shownTimer = setTimeout(clear, DONE_SHOWN_MS)
    }
  }

  const markActive = () => {
    if (awareness.getLocalState()?.active !== key) awareness.setLocalStateField('active', key)
    clearTimeout(activeTimer)
    activeTimer = setTimeout(stopActive, ACTIVE_MS)
  }
  const stopActive = () => {
    clearTimeout(activeTimer)
    if (awareness.getLocalState()?.active === key) awareness.setLocalStateField('active', null)
  }

  // Focusing the prompt is not editing the field: the record's presence must not see it.
  element.addEventListener('focusin', (event) => event.stopPropagation())
  element.addEventListener('focusout', (event) => {
    const to = event.relatedTarget
    if (to !== control && !(to instanceof Node && element.contains(to))) left()
  })
  awareness.on('change', watch)

  /** The focus left the control (and is not in the prompt). */
  const left = () => {
    goneAhead = false
    stopActive()
    if (state === 'asking') clear()
  }

  return {
    element,
    focused () {
      markActive()
      if (state !== 'asking') clear()
      if (!goneAhead) ask()
    },
    typed () {
      markActive()
      if (state !== 'asking' && !goneAhead) ask()
    },
    /** @param {FocusEvent} event the control's blur */
    blurred (event) {
      const to = event.relatedTarget
      if (!(to instanceof Node && element.contains(to))) left()
    },
    /** A short notice about this field, e.g. why undo did nothing. @param {string} text */
    say (text) {
      clearTimeout(noteTimer)
      note.textContent = text
      element.classList.add('shown')
      noteTimer = setTimeout(() => {
        note.replaceChildren()
        element.classList.toggle('shown', question.hasChildNodes())
      }, DONE_SHOWN_MS)
    },
    destroy () {
      clearTimeout(activeTimer)
      clearTimeout(shownTimer)
      clearTimeout(noteTimer)
      stopActive()
      awareness.off('change', watch)
    }
  }
}
