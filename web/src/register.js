// "Create an organisation" on the sign-in page, when the server lets organisations register themselves:
// the organisation, its address (slug) and its first admin; then that admin is signed in.
import * as api from './api.js'
import { h } from './dom.js'

/**
 * A slug proposed from a name: lower-case letters, digits and dashes.
 * @param {string} name
 */
export const slugOf = (name) =>
  name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63)

/**
 * The form; `onRegistered(slug, email, password)` signs the new admin in.
 * @param {(slug: string, email: string, password: string) => Promise<void>} onRegistered
 * @returns {HTMLElement}
 */
export function registerForm (onRegistered) {
  /** @param {string} id @param {string} label @param {Record<string, any>} props */
  const field = (id, label, props) =>
    h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name: id.replace('reg-', ''), ...props }))
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true })
  const submit = h('button', { type: 'submit' }, 'Create organisation')
  const nameField = field('reg-name', 'Organisation name', { required: true, maxLength: 200, autocomplete: 'organization' })
  const slugField = field('reg-slug', 'Sign-in name (letters, digits, dashes)',
    { required: true, pattern: '[a-z0-9][a-z0-9\\-]{0,62}', autocomplete: 'off' })
  const nameInput = /** @type {HTMLInputElement} */ (nameField.querySelector('input'))
  const slugInput = /** @type {HTMLInputElement} */ (slugField.querySelector('input'))
  let slugTouched = false
  slugInput.addEventListener('input', () => { slugTouched = true })
  nameInput.addEventListener('input', () => { if (!slugTouched) slugInput.value = slugOf(nameInput.value) })

  /** @param {SubmitEvent} event */
  const onSubmit = async (event) => {
    event.preventDefault()
    const form = /** @type {HTMLFormElement} */ (event.currentTarget)
    const data = /** @type {Record<string, string>} */ (Object.fromEntries(new FormData(form)))
    submit.disabled = true
    problem.hidden = true
    try {
      const body = { name: data.name, slug: data.slug, email: data.email, password: data.password }
      await api.registerOrganisation(data.admin_name?.trim() ? { ...body, admin_name: data.admin_name.trim() } : body)
      await onRegistered(data.slug, data.email, data.password)
    } catch (error) {
      const { status, message } = /** @type {api.ApiError} */ (error)
      problem.textContent = status === 409
        ? 'That organisation name or sign-in name is taken. Choose another.'
        : status === 429 ? 'Too many organisations created from here. Try again later.' : message
      problem.hidden = false
      submit.disabled = false
    }
  }

  return h('form', { class: 'login', 'data-testid': 'register-form', onsubmit: onSubmit },
    nameField, slugField,
    field('reg-admin_name', 'Your name', { autocomplete: 'name' }),
    field('reg-email', 'Your email', { type: 'email', required: true, autocomplete: 'username' }),
    field('reg-password', 'Password (at least 8 characters)',
      { type: 'password', required: true, minLength: 8, autocomplete: 'new-password' }),
    problem, submit)
}
