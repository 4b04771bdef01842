// Collections of the tenant (admins): each with its fields, "Edit fields" (schema-editor.js: relabel,
// reorder, options, archive and bring back, add fields; `PATCH /api/collections/NAME`), and a form to
// define a new one with the same field editor. The server checks a definition and answers 422 with a
// message per problem (`name`, `label`, `fields[i]`), shown next to the control it is about.
import * as api from './api.js'
import { scaleOf } from './decimal.js'
import { find, h, mount, pageHeading } from './dom.js'
import { schemaEditor } from './schema-editor.js'
import { COLLECTIONS_CHANGED } from './sidebar.js'
import { collectionHash } from './workspace.js'

/** @typedef {import('./types.js').Collection} Collection */
/** @typedef {import('./types.js').FieldSpec} FieldSpec */

/** The sidebar lists the collections anew (main.js): one was defined or renamed here. */
const collectionsChanged = () => window.dispatchEvent(new Event(COLLECTIONS_CHANGED))

/** @param {string} id @param {string} label @param {HTMLElement} control @param {HTMLElement} [error] */
const field = (id, label, control, error) =>
  h('div', { class: 'field' }, h('label', { for: id }, label), control, error)
/** @param {string} id */
const errorFor = (id) => h('p', { class: 'field-error', id: `${id}-error`, hidden: true })
/** @param {HTMLElement} el @param {string} message */
const show = (el, message) => {
  el.textContent = message
  el.hidden = false
}

/**
 * What the Type column says: the type and its settings, e.g. "select (new, closed)", "link → projects, many".
 * @param {FieldSpec} f
 */
export function typeWords (f) {
  const settings = []
  if ((f.type === 'select' || f.type === 'multiselect') && f.options?.length) settings.push(f.options.join(', '))
  if (f.type === 'decimal') settings.push(`scale ${scaleOf(f)}`)
  if (f.type === 'link') settings.push(`→ ${f.target ?? '?'}${f.many ? ', many' : ''}`)
  if (f.required) settings.push('required')
  if (f.unique) settings.push('unique')
  if (f.archived) settings.push('archived')
  return settings.length ? `${f.type} (${settings.join(', ')})` : f.type
}

/**
 * Put a 422's messages next to their controls; the rest in `problem`.
 * @param {any} error @param {ReturnType<typeof schemaEditor>} editor @param {HTMLElement} problem
 * @param {Record<string, HTMLElement>} [places] where `name`, `label` go
 */
function showRefusal (error, editor, problem, places = {}) {
  const fields = error.body?.fields
  if (error.status !== 422 || !fields) {
    show(problem, error.message)
    return
  }
  /** @type {Record<string, string>} */
  const rest = {}
  for (const [where, message] of Object.entries(fields)) {
    const place = places[where]
    if (place) show(place, `${where[0].toUpperCase()}${where.slice(1)}: ${message}`)
    else rest[where] = message
  }
  const other = editor.showErrors(rest)
  show(problem, other.length ? other.join('; ') : 'Please correct the marked problems.')
}

/**
 * @param {HTMLElement} root
 * @param {AbortSignal} signal
 */
export async function showCollections (root, signal) {
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true, 'data-testid': 'collection-problem' })
  const created = h('div', { class: 'banner', role: 'status', hidden: true, 'data-testid': 'created-collection' })
  const list = h('ul', { class: 'rows', 'data-testid': 'collections' })
  /** @type {string[]} */
  let names = []

  /** @param {Collection} collection */
  const schemaTable = (collection) => collection.fields.length === 0
    ? h('p', { class: 'muted' }, 'No fields.')
    : h('table', { class: 'schema' },
      h('caption', { class: 'visually-hidden' }, `Fields of ${collection.label}`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Label'),
        h('th', { scope: 'col' }, 'Type'))),
      h('tbody', {}, ...collection.fields.map((f) => h('tr', { 'data-testid': 'collection-field', class: f.archived ? 'archived' : null },
        h('td', {}, h('code', {}, f.key)), h('td', {}, f.label), h('td', {}, typeWords(f))))))

  /** @param {Collection} collection */
  const collectionRow = (collection) => {
    const main = h('div', { class: 'row-main' })
    const item = h('li', { class: 'row', 'data-testid': 'collection', 'data-name': collection.name }, main)
    const view = () => {
      main.replaceChildren(h('strong', {}, collection.label), ' ', h('code', {}, collection.name), ' ',
        h('button', { type: 'button', class: 'secondary', 'data-testid': 'edit-fields', onclick: edit }, `Edit fields of ${collection.label}`),
        schemaTable(collection))
    }
    const edit = () => {
      const editor = schemaEditor({ existing: collection.fields, collections: names })
      const labelInput = h('input', { id: `edit-${collection.name}-label`, autocomplete: 'off', value: collection.label })
      const labelError = errorFor(`edit-${collection.name}-label`)
      const refused = h('p', { class: 'problem', role: 'alert', hidden: true, 'data-testid': 'schema-problem' })
      const save = async (/** @type {SubmitEvent} */ event) => {
        event.preventDefault()
        editor.clearErrors()
        refused.hidden = true
        labelError.hidden = true
        try {
          collection = await api.updateCollection(collection.name, { label: labelInput.value.trim() || collection.label, fields: editor.read() })
        } catch (error) {
          showRefusal(error, editor, refused, { label: labelError })
          return
        }
        view()
        collectionsChanged()
        find(main, '[data-testid=edit-fields]').focus()
      }
      main.replaceChildren(
        h('form', { class: 'stack schema-form', onsubmit: save, novalidate: true, 'data-testid': 'edit-collection' },
          h('h3', {}, `Fields of ${collection.label} `, h('code', {}, collection.name)),
          field(labelInput.id, 'Collection label', labelInput, labelError),
          editor.element,
          h('div', { class: 'form-buttons' },
            h('button', { type: 'button', class: 'secondary', onclick: () => editor.addField() }, 'Add field'),
            h('button', { type: 'submit' }, 'Save fields'),
            h('button', { type: 'button', class: 'secondary', onclick: view }, 'Cancel')),
          refused))
      labelInput.focus()
    }
    view()
    return item
  }

  const refresh = async () => {
    const collections = await api.listCollections()
    names = collections.map((c) => c.name)
    if (!signal.aborted) list.replaceChildren(...collections.map(collectionRow))
  }

  const fieldsSlot = h('div', {})
  let editor = schemaEditor({ collections: names })
  const newEditor = () => {
    editor = schemaEditor({ collections: names })
    fieldsSlot.replaceChildren(editor.element)
    editor.addField(false) // a form ready for the next one: the focus stays where it is
  }
  const nameError = errorFor('collection-name')
  const labelError = errorFor('collection-label')

  /** @param {SubmitEvent} event */
  const onSubmit = async (event) => {
    event.preventDefault()
    const form = /** @type {HTMLFormElement} */ (event.currentTarget)
    /** @param {string} name */
    const control = (name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name))
    problem.hidden = true
    nameError.hidden = true
    labelError.hidden = true
    editor.clearErrors()
    created.hidden = true
    const body = {
      name: control('name').value.trim(),
      label: control('label').value.trim() || control('name').value.trim(),
      fields: editor.read()
    }
    try {
      const collection = await api.createCollection(body)
      form.reset()
      await refresh()
      newEditor() // links may now target the new collection
      created.replaceChildren(`Created the collection ${collection.label}. `,
        h('a', { href: collectionHash(collection.name) }, `Open ${collection.label}`))
      created.hidden = false
      collectionsChanged()
    } catch (error) {
      if (error.status === 409) show(problem, `A collection named “${body.name}” already exists.`)
      else showRefusal(error, editor, problem, { name: nameError, label: labelError })
    }
  }

  await refresh()
  if (signal.aborted) return
  newEditor()
  mount(root,
    pageHeading('Collections'),
    list,
    h('h3', {}, 'New collection'),
    h('form', { class: 'stack', onsubmit: onSubmit, 'data-testid': 'add-collection', novalidate: true },
      field('collection-name', 'Name (lower-case, e.g. people)',
        h('input', { id: 'collection-name', name: 'name', autocomplete: 'off', 'aria-describedby': 'collection-name-error' }), nameError),
      field('collection-label', 'Label', h('input', { id: 'collection-label', name: 'label', autocomplete: 'off', 'aria-describedby': 'collection-label-error' }), labelError),
      h('h4', {}, 'Fields'),
      fieldsSlot,
      h('div', { class: 'form-buttons' },
        h('button', { type: 'button', class: 'secondary', onclick: () => editor.addField() }, 'Add field'),
        h('button', { type: 'submit' }, 'Create collection')),
      problem),
    created)
}
