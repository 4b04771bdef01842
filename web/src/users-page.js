// Users of the tenant (admins): add one, change a role, deactivate or reactivate, delete; who is online. A generated password
// is shown once, right after the user was added; the server keeps only its hash.
import * as api from './api.js'
import { ROLES } from './constants.js'
import { h, mount, pageHeading } from './dom.js'
import { onlineSection } from './online-list.js'
import { currentUser } from './session.js'

// The server lists the roles with the most access first; the menu starts with the least.
const MENU_ROLES = [...ROLES].reverse()

/** @typedef {import('./types.js').Account} Account */

/** @param {string} id @param {string} label @param {HTMLElement} control */
const field = (id, label, control) =>
  h('div', { class: 'field' }, h('label', { for: id }, label), control)
/** @param {Record<string, any>} props @param {string} value the role selected */
const roleSelect = (props, value) =>
  h('select', props, ...MENU_ROLES.map((role) => h('option', { value: role, selected: role === value }, role)))

/**
 * @param {HTMLElement} root
 * @param {AbortSignal} signal
 */
export async function showUsers (root, signal) {
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true })
  const created = h('div', { class: 'banner', role: 'status', hidden: true, 'data-testid': 'created-user' })
  const list = h('ul', { class: 'rows', 'data-testid': 'users' })
  /** @param {any} error */
  const fail = (error) => {
    problem.textContent = error.message
    problem.hidden = false
  }

  /** PATCH one user; on refusal (e.g. the last admin) show why and put the control back. */
  /**
   * @param {Account} user
   * @param {{role?: string, active?: boolean}} changes
   * @param {() => void} undo
   */
  const change = async (user, changes, undo) => {
    problem.hidden = true
    try {
      Object.assign(user, await api.updateUser(user.id, changes))
    } catch (error) {
      undo()
      fail(error)
    }
  }

  /** @param {Account} user */
  const row = (user) => {
    const who = user.name || user.email
    const role = roleSelect({ 'aria-label': `Role of ${who}` }, user.role)
    role.addEventListener('change', () => change(user, { role: role.value }, () => { role.value = user.role }))
    const active = h('input', {
      type: 'checkbox', id: `active-${user.id}`, checked: user.active, 'aria-label': `${who} is active`
    })
    active.addEventListener('change', () =>
      change(user, { active: active.checked }, () => { active.checked = user.active }))
    const self = user.id === currentUser()?.id
    return h('li', { class: 'row', 'data-testid': 'user' },
      h('div', { class: 'row-main' },
        h('strong', {}, who), self ? h('span', { class: 'badge' }, 'You') : null,
        h('div', { class: 'muted' }, user.email)),
      h('div', { class: 'row-controls' }, role,
        h('span', { class: 'check' }, active, h('label', { for: `active-${user.id}` }, 'Active')),
        self ? null : deleteControl(user, who)))
  }

  /** "Delete…", then an inline confirmation that says what deleting means. @param {Account} user @param {string} who */
  const deleteControl = (user, who) => {
    const holder = h('span', {})
    const ask = h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${who}` }, 'Delete…')
    const confirm = async () => {
      problem.hidden = true
      try {
        await api.deleteUser(user.id)
        await refresh()
      } catch (error) {
        fail(error)
      }
    }
    ask.addEventListener('click', () => holder.replaceChildren(
      h('span', { role: 'alert' }, `Delete ${who}? They are signed out everywhere; history keeps their changes as "Deleted user". This cannot be undone. `),
      h('button', { type: 'button', class: 'danger', onclick: confirm }, 'Delete'),
      h('button', { type: 'button', onclick: () => holder.replaceChildren(ask) }, 'Cancel')))
    holder.append(ask)
    return holder
  }

  const refresh = async () => {
    const users = await api.listUsers()
    if (!signal.aborted) list.replaceChildren(...users.map(row))
  }

  /** @param {SubmitEvent} event */
  const onSubmit = async (event) => {
    event.preventDefault()
    const form = /** @type {HTMLFormElement} */ (event.currentTarget)
    const data = /** @type {Record<string, string>} */ (Object.fromEntries(new FormData(form)))
    /** @type {{email: string, role: string, name?: string, password?: string}} */
    const body = { email: data.email, role: data.role }
    if (data.name.trim()) body.name = data.name.trim()
    if (data.password) body.password = data.password
    problem.hidden = true
    created.hidden = true
    try {
      const user = await api.createUser(body)
      created.replaceChildren(`Added ${user.email}.`)
      if (user.password) {
        created.append(' Their password, shown only now: ', h('code', { 'data-testid': 'new-password' }, user.password),
          '. Pass it on safely.')
      }
      created.hidden = false
      form.reset()
      await refresh()
    } catch (error) {
      fail(error)
    }
  }

  await refresh()
  if (signal.aborted) return
  mount(root,
    pageHeading('Users'),
    problem,
    list,
    h('h3', {}, 'Add a user'),
    h('form', { class: 'stack', onsubmit: onSubmit, 'data-testid': 'add-user' },
      field('new-email', 'Email', h('input', { id: 'new-email', name: 'email', type: 'email', required: true, autocomplete: 'off' })),
      field('new-name', 'Name', h('input', { id: 'new-name', name: 'name', autocomplete: 'off' })),
      field('new-role', 'Role', roleSelect({ id: 'new-role', name: 'role' }, 'editor')),
      field('new-password', 'Password (leave empty to generate one)',
        h('input', { id: 'new-password', name: 'password', type: 'password', autocomplete: 'new-password', minLength: 8 })),
      h('button', { type: 'submit' }, 'Add user')),
    created,
    onlineSection(signal))
}
