// The audit log (admins): sign-ins, failed sign-ins and every admin action, newest first.
import * as api from './api.js'
import { h, mount, pageHeading } from './dom.js'
import { at } from './time.js'

const PAGE = 100 // the server's page size: a shorter page is the last one

const nameOf = (user) => user ? (user.name || user.email) : 'nobody signed in'
const shown = (value) => typeof value === 'string' ? value : JSON.stringify(value)

function entry ({ at: when, action, actor, target, ip, detail }) {
  const details = Object.entries(detail ?? {}).map(([key, value]) => `${key}: ${shown(value)}`).join(' · ')
  return h('li', { class: 'row', 'data-testid': 'audit-entry' },
    h('div', { class: 'row-main' },
      h('strong', {}, action), ' by ', nameOf(actor), target ? ` → ${nameOf(target)}` : '',
      h('div', { class: 'muted' }, h('time', { dateTime: when }, at(when)), ip ? ` · from ${ip}` : ''),
      details ? h('div', { class: 'muted detail' }, details) : null))
}

/**
 * @param {HTMLElement} root
 * @param {AbortSignal} signal
 */
export async function showAudit (root, signal) {
  const list = h('ul', { class: 'rows', 'data-testid': 'audit' })
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show older entries')
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true })
  let before = null

  const load = async () => {
    const entries = await api.auditLog(before)
    if (signal.aborted) return
    list.append(...entries.map(entry))
    before = entries.length ? entries[entries.length - 1].id : null
    more.hidden = entries.length < PAGE
  }
  more.addEventListener('click', async () => {
    more.disabled = true
    problem.hidden = true
    try {
      await load()
    } catch (error) {
      problem.textContent = error.message
      problem.hidden = false
    } finally {
      more.disabled = false
    }
  })

  await load()
  if (signal.aborted) return
  mount(root, pageHeading('Audit log'), problem, list, more)
}
