// "Your sessions": every device signed in as you, each one revocable. A revoked device's open records
// close at once (the server ends their sockets with 4401) and it is back at the sign-in form.
import * as api from './api.js'
import { h, mount, pageHeading } from './dom.js'
import { ago, timeProps } from './time.js'

/**
 * @param {HTMLElement} root
 * @param {AbortSignal} signal
 */
export async function showSessions (root, signal) {
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true })
  const list = h('ul', { class: 'rows', 'data-testid': 'sessions' })
  const others = h('button', { type: 'button', class: 'secondary' }, 'Sign out all other devices')

  /**
   * @param {HTMLButtonElement} button disabled while `action` runs, and after it succeeded
   * @param {() => Promise<unknown>} action
   */
  const act = async (button, action) => {
    button.disabled = true
    problem.hidden = true
    try {
      await action()
      await refresh()
    } catch (error) {
      problem.textContent = error.message
      problem.hidden = false
      button.disabled = false
    }
  }

  /** @param {import('./types.js').Session} session */
  const row = (session) => {
    const item = h('li', { class: 'row', 'data-testid': 'session' },
      h('div', { class: 'row-main' },
        h('strong', {}, session.device || 'Unknown device'),
        session.current ? h('span', { class: 'badge' }, 'This device') : null,
        h('span', { class: 'muted' }, ` · ${session.ip || 'unknown address'}`),
        h('div', { class: 'muted' },
          'Signed in ', h('time', timeProps(session.created_at), ago(session.created_at)),
          ' · last seen ', h('time', timeProps(session.last_seen_at), ago(session.last_seen_at)))))
    if (!session.current) {
      const revoke = h('button', { type: 'button', class: 'secondary', 'aria-label': `Sign out ${session.device || 'device'} (${session.ip})` }, 'Sign out')
      revoke.addEventListener('click', () => act(revoke, () => api.revokeSession(session.id)))
      item.append(revoke)
    }
    return item
  }

  const refresh = async () => {
    const sessions = await api.listSessions()
    if (signal.aborted) return
    list.replaceChildren(...sessions.map(row))
    others.hidden = !sessions.some((session) => !session.current)
    others.disabled = false
  }
  others.addEventListener('click', () => act(others, api.revokeOtherSessions))

  await refresh()
  if (signal.aborted) return
  mount(root,
    h('div', { class: 'list-head' }, pageHeading('Your sessions'), others),
    h('p', { class: 'muted' }, 'Every device signed in as you. Signing one out closes what it has open at once.'),
    problem,
    list)
}
