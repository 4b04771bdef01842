// The audit log (admins): sign-ins, failed sign-ins and every admin action, newest first.
import * as api from './api.js'
import { h, mount, pageHeading } from './dom.js'
import { byLastId, pager } from './pager.js'
import { at } from './time.js'
import { nameOf } from './wording.js'

/** @typedef {import('./types.js').AuditEntry} AuditEntry */

const PAGE = 100 // entries asked for at once; a shorter page is the last one

/** @param {unknown} value */
const shown = (value) => typeof value === 'string' ? value : JSON.stringify(value)

/** @param {AuditEntry} entry */
function entry ({ at: when, action, actor, target, ip, detail }) {
  const details = Object.entries(detail ?? {}).map(([key, value]) => `${key}: ${shown(value)}`).join(' · ')
  return h('li', { class: 'row', 'data-testid': 'audit-entry' },
    h('div', { class: 'row-main' },
      h('strong', {}, action), ' by ', nameOf(actor, 'nobody signed in'),
      target ? ` → ${nameOf(target, 'nobody signed in')}` : '',
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
  const pages = pager(byLastId(api.auditLog, PAGE))

  const load = async () => {
    const entries = await pages.next()
    if (signal.aborted) return
    list.append(...entries.map(entry))
    more.hidden = !pages.more
  }
  more.addEventListener('click', async () => {
    more.disabled = true
    problem.hidden = true
    try {
      await load()
    } catch (error) {
      problem.textContent = error instanceof Error ? error.message : String(error)
      problem.hidden = false
    } finally {
      more.disabled = false
    }
  })

  await load()
  if (signal.aborted) return
  mount(root, pageHeading('Audit log'), problem, list, more)
}
