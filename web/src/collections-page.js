// Collections of the tenant (admins): each with its fields, and a form to define a new one. The server
// checks the definition and answers 422 with a message per problem (`name`, `label`, `fields[i]`), shown
// next to the control it is about.
import * as api from './api.js'
import { FIELD_TYPES } from './constants.js'
import { find, h, mount, pageHeading } from './dom.js'

/** @typedef {import('./types.js').Collection} Collection */
/** @typedef {import('./types.js').FieldSpec} FieldSpec */

/** @param {string} id @param {string} label @param {HTMLElement} control @param {HTMLElement} [error] */
const field = (id, label, control, error) =>
  h('div', { class: 'field' }, h('label', { for: id }, label), control, error)
/** @param {string} id */
const errorFor = (id) => h('p', { class: 'field-error', id: `${id}-error`, hidden: true })

/**
 * @param {HTMLElement} root
 * @param {AbortSignal} signal
 */
export async function showCollections (root, signal) {
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true, 'data-testid': 'collection-problem' })
  const created = h('div', { class: 'banner', role: 'status', hidden: true, 'data-testid': 'created-collection' })
  const list = h('ul', { class: 'rows', 'data-testid': 'collections' })
  const rows = h('ol', { class: 'field-rows', 'data-testid': 'field-rows' })
  let nextRow = 0

  /** @param {Collection} collection */
  const collectionRow = (collection) =>
    h('li', { class: 'row', 'data-testid': 'collection' },
      h('div', { class: 'row-main' },
        h('strong', {}, collection.label), ' ', h('code', {}, collection.name),
        collection.fields.length === 0
          ? h('p', { class: 'muted' }, 'No fields.')
          : h('table', { class: 'schema' },
            h('caption', { class: 'visually-hidden' }, `Fields of ${collection.label}`),
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Label'),
              h('th', { scope: 'col' }, 'Type'))),
            h('tbody', {}, ...collection.fields.map((f) => h('tr', { 'data-testid': 'collection-field' },
              h('td', {}, h('code', {}, f.key)), h('td', {}, f.label),
              h('td', {}, f.type === 'select' && f.options?.length ? `select (${f.options.join(', ')})` : f.type)))))))

  const refresh = async () => {
    const collections = await api.listCollections()
    if (!signal.aborted) list.replaceChildren(...collections.map(collectionRow))
  }

  /** One field definition: key, label, type, and options when the type is select. */
  const addRow = () => {
    const n = ++nextRow
    /** @param {string} what */
    const id = (what) => `cf-${n}-${what}`
    const options = h('input', { id: id('options'), 'data-part': 'options', autocomplete: 'off', placeholder: 'e.g. new, active, closed' })
    const optionsField = field(id('options'), 'Options (comma-separated)', options)
    const type = h('select', { id: id('type'), 'data-part': 'type' },
      ...FIELD_TYPES.map((t) => h('option', { value: t }, t)))
    const showOptions = () => { optionsField.hidden = type.value !== 'select' }
    type.addEventListener('change', showOptions)
    showOptions()
    const error = h('p', { class: 'field-error', 'data-part': 'error', role: 'alert', hidden: true })
    const row = h('li', { class: 'field-row', 'data-testid': 'field-row' },
      h('fieldset', {},
        h('legend', {}, 'Field'),
        field(id('key'), 'Key', h('input', { id: id('key'), 'data-part': 'key', required: true, autocomplete: 'off' })),
        field(id('label'), 'Label', h('input', { id: id('label'), 'data-part': 'label', autocomplete: 'off' })),
        field(id('type'), 'Type', type),
        optionsField,
        error,
        h('button', { type: 'button', class: 'secondary', onclick: () => { row.remove(); renumber() } }, 'Remove field')))
    rows.append(row)
    renumber()
    find(row, '[data-part=key]').focus()
  }

  /** Legends and the remove buttons' names say which field they are about: "Field 2", "Remove field 2". */
  const renumber = () => {
    [...rows.children].forEach((row, index) => {
      find(row, 'legend').textContent = `Field ${index + 1}`
      find(row, 'button').textContent = `Remove field ${index + 1}`
    })
  }

  const nameError = errorFor('collection-name')
  const labelError = errorFor('collection-label')
  const clearErrors = () => {
    problem.hidden = true
    for (const el of [nameError, labelError, ...(/** @type {NodeListOf<HTMLElement>} */ (rows.querySelectorAll('[data-part=error]')))]) {
      el.hidden = true
      el.textContent = ''
    }
  }
  /** @param {HTMLElement} el @param {string} message */
  const show = (el, message) => {
    el.textContent = message
    el.hidden = false
  }

  /** @param {SubmitEvent} event */
  const onSubmit = async (event) => {
    event.preventDefault()
    const form = /** @type {HTMLFormElement} */ (event.currentTarget)
    /** @param {string} name */
    const control = (name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name))
    clearErrors()
    created.hidden = true
    const fieldRows = [...rows.children]
    const body = {
      name: control('name').value.trim(),
      label: control('label').value.trim() || control('name').value.trim(),
      fields: fieldRows.map((row) => {
        /** @param {string} p */
        const part = (p) => /** @type {HTMLInputElement | HTMLSelectElement} */ (find(row, `[data-part=${p}]`)).value.trim()
        /** @type {FieldSpec} */
        const spec = { key: part('key'), label: part('label') || part('key'), type: part('type') }
        if (spec.type === 'select') spec.options = part('options').split(',').map((o) => o.trim()).filter(Boolean)
        return spec
      })
    }
    try {
      const collection = await api.createCollection(body)
      created.replaceChildren(`Created the collection ${collection.label}.`)
      created.hidden = false
      form.reset()
      rows.replaceChildren()
      addRow()
      await refresh()
    } catch (error) {
      const fields = error.body?.fields
      if (error.status === 422 && fields) {
        const other = []
        for (const [where, message] of Object.entries(fields)) {
          const found = where.match(/^fields\[(\d+)\]$/)?.[1]
          const index = found === undefined ? undefined : Number(found)
          if (where === 'name') show(nameError, `Name: ${message}`)
          else if (where === 'label') show(labelError, `Label: ${message}`)
          else if (index !== undefined && fieldRows[index]) {
            show(find(fieldRows[index], '[data-part=error]'), `Field ${index + 1}: ${message}`)
          } else other.push(`${where}: ${message}`)
        }
        show(problem, other.length ? other.join('; ') : 'Please correct the marked problems.')
      } else {
        show(problem, error.status === 409 ? `A collection named “${body.name}” already exists.` : error.message)
      }
    }
  }

  await refresh()
  if (signal.aborted) return
  addRow()
  mount(root,
    pageHeading('Collections'),
    list,
    h('h3', {}, 'New collection'),
    h('form', { class: 'stack', onsubmit: onSubmit, 'data-testid': 'add-collection', novalidate: true },
      field('collection-name', 'Name (lower-case, e.g. people)',
        h('input', { id: 'collection-name', name: 'name', autocomplete: 'off', 'aria-describedby': 'collection-name-error' }), nameError),
      field('collection-label', 'Label', h('input', { id: 'collection-label', name: 'label', autocomplete: 'off', 'aria-describedby': 'collection-label-error' }), labelError),
      h('h4', {}, 'Fields'),
      rows,
      h('div', { class: 'form-buttons' },
        h('button', { type: 'button', class: 'secondary', onclick: addRow }, 'Add field'),
        h('button', { type: 'submit' }, 'Create collection')),
      problem),
    created)
}
