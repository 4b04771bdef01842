// The sign-in form.
import * as api from './api.js'
import { find, h, mount, pageHeading } from './dom.js'
import { registerForm } from './register.js'
import { signedIn } from './session.js'

/**
 * Show the sign-in form in `root`; `onSignedIn()` runs once the server accepted the credentials.
 * @param {HTMLElement} root
 * @param {() => void} onSignedIn
 * @param {string | null} [notice] why the user is asked to sign in (again), if there is more to say
 */
export function showLogin (root, onSignedIn, notice = null) {
  /** @param {string} id @param {string} label @param {Record<string, any>} props */
  const field = (id, label, props) =>
    h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name: id, required: true, ...props }))
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true })
  const submit = h('button', { type: 'submit' }, 'Sign in')

  /** @param {SubmitEvent} event */
  const onSubmit = async (event) => {
    event.preventDefault()
    const form = /** @type {HTMLFormElement} */ (event.currentTarget)
    const { tenant, email, password } = /** @type {Record<string, string>} */ (Object.fromEntries(new FormData(form)))
    submit.disabled = true
    problem.hidden = true
    try {
      // The answer also holds the token, for scripts; the page has the HttpOnly cookie and ignores it.
      const { user } = await api.login(tenant, email, password)
      signedIn(user)
      onSignedIn()
    } catch (error) {
      problem.textContent = error.status === 401
        ? 'Wrong email or password.'
        : error.status === 429
          ? 'Too many attempts. Wait a minute and try again.'
          : `Could not sign in: ${error.message}`
      problem.hidden = false
      submit.disabled = false
    }
  }

  const email = field('email', 'Email', { type: 'email', autocomplete: 'username' })
  // Offered only when the server lets organisations register themselves (off by default); otherwise not
  // even in the page, so "Email" names one field only.
  const register = h('div', {})
  api.registrationOpen().then((open) => {
    if (!open) return
    register.replaceChildren(h('details', { class: 'register', 'data-testid': 'register' },
      h('summary', {}, 'New here? Create an organisation'),
      registerForm(async (tenant, email, password) => {
        const { user } = await api.login(tenant, email, password)
        signedIn(user)
        onSignedIn()
      })))
  }, () => {})
  mount(root,
    pageHeading('Sign in'),
    notice ? h('p', { class: 'banner', role: 'status', 'data-testid': 'login-notice' }, notice) : null,
    h('form', { class: 'login', 'data-testid': 'login-form', onsubmit: onSubmit },
      field('tenant', 'Organisation', { value: 'default', autocomplete: 'organization' }),
      email,
      field('password', 'Password', { type: 'password', autocomplete: 'current-password' }),
      problem,
      submit),
    register)
  // The one page that takes focus even on the first load: there is nothing to do here but type.
  // (`autofocus` would only work once per document, and this form comes back after signing out.)
  find(email, 'input').focus()
}
