// The fields of a collection as an admin defines them: one row per field, in order. A new collection's rows
// are all new (key, label, type and its settings). An existing collection's rows keep their key, type, a
// link's target and a decimal's scale (the server refuses to change them), and may be relabelled,
// reordered, given other options, made required (or no longer unique), archived (hidden from forms, data
// kept) or brought back; new rows are added at the end. `read()` is the whole list in the new order, as
// `PATCH /api/collections/NAME` and `POST` take it; `showErrors` puts the server's 422 messages
// (`fields[i]`) next to the row they are about.
import { FIELD_TYPES } from './constants.js'
import { DEFAULT_SCALE, MAX_SCALE, scaleOf } from './decimal.js'
import { find, h } from './dom.js'

/** @typedef {import('./types.js').FieldSpec} FieldSpec */

const WITH_OPTIONS = new Set(['select', 'multiselect'])
// The types whose values the server compares for `unique` (collab/records/schema.py UNIQUE_TYPES).
const CAN_BE_UNIQUE = new Set(['text', 'email', 'url', 'phone', 'number', 'decimal'])
const CANNOT_BE_REQUIRED = new Set(['boolean'])

let made = 0

/** @param {string} id @param {string} label @param {HTMLElement} control */
const labelled = (id, label, control) => h('div', { class: 'field' }, h('label', { for: id }, label), control)
/** @param {string} id @param {string} label @param {HTMLInputElement} box */
const checkbox = (id, label, box) => h('div', { class: 'field field-check' }, box, h('label', { for: id }, label))

/**
 * Parse "a, b, c" into distinct options, in order.
 * @param {string} text
 */
export const parseOptions = (text) => [...new Set(text.split(',').map((o) => o.trim()).filter(Boolean))]

/**
 * @param {{existing?: FieldSpec[], collections: string[]}} options `collections`: names a link may target
 * @returns {{element: HTMLElement, addField: (focus?: boolean) => void, read: () => FieldSpec[], showErrors: (errors: Record<string, string>) => string[], clearErrors: () => void}}
 */
export function schemaEditor ({ existing = [], collections }) {
  const rows = h('ol', { class: 'field-rows', 'data-testid': 'field-rows' })
  /** @type {WeakMap<HTMLElement, () => FieldSpec>} */
  const readers = new WeakMap()

  /** @param {FieldSpec | null} spec null: a new field */
  const row = (spec) => {
    const n = ++made
    /** @param {string} what */
    const id = (what) => `sf-${n}-${what}`
    const fresh = spec === null
    const key = h('input', { id: id('key'), 'data-part': 'key', required: true, autocomplete: 'off', value: spec?.key ?? '', readOnly: !fresh })
    const label = h('input', { id: id('label'), 'data-part': 'label', autocomplete: 'off', value: spec?.label ?? '' })
    const type = h('select', { id: id('type'), 'data-part': 'type', disabled: !fresh },
      ...(fresh ? FIELD_TYPES : [spec.type]).map((t) => h('option', { value: t }, t)))
    const options = h('input', { id: id('options'), 'data-part': 'options', autocomplete: 'off', placeholder: 'e.g. new, active, closed', value: (spec?.options ?? []).join(', ') })
    // A stored decimal keeps its scale, and a field becomes unique only when added (the server says why).
    const scale = h('input', { id: id('scale'), 'data-part': 'scale', type: 'number', min: 0, max: MAX_SCALE, step: 1, value: String(spec ? scaleOf(spec) : DEFAULT_SCALE), disabled: !fresh })
    const target = h('select', { id: id('target'), 'data-part': 'target', disabled: !fresh },
      ...collections.map((name) => h('option', { value: name }, name)))
    if (spec?.target) {
      if (!collections.includes(spec.target)) target.append(h('option', { value: spec.target }, spec.target))
      target.value = spec.target
    }
    const many = h('input', { id: id('many'), 'data-part': 'many', type: 'checkbox', checked: spec?.many === true })
    const required = h('input', { id: id('required'), 'data-part': 'required', type: 'checkbox', checked: spec?.required === true })
    const unique = h('input', { id: id('unique'), 'data-part': 'unique', type: 'checkbox', checked: spec?.unique === true, disabled: !fresh && !spec?.unique })
    let archived = spec?.archived === true
    const settings = {
      options: labelled(id('options'), 'Options (comma-separated)', options),
      scale: labelled(id('scale'), 'Digits after the point', scale),
      target: labelled(id('target'), 'Links to', target),
      many: checkbox(id('many'), 'Many records', many),
      required: checkbox(id('required'), 'Required', required),
      unique: checkbox(id('unique'), 'Unique', unique)
    }
    const state = h('span', { class: 'muted', 'data-part': 'state' })
    const archive = h('button', { type: 'button', class: 'secondary', 'data-part': 'archive', hidden: fresh })
    const show = () => {
      const kind = type.value
      settings.options.hidden = !WITH_OPTIONS.has(kind)
      settings.scale.hidden = kind !== 'decimal'
      settings.target.hidden = kind !== 'link'
      settings.many.hidden = kind !== 'link'
      settings.required.hidden = CANNOT_BE_REQUIRED.has(kind)
      settings.unique.hidden = !CAN_BE_UNIQUE.has(kind)
      archive.textContent = archived ? 'Bring back' : 'Archive'
      state.textContent = archived ? 'archived: hidden from forms, data kept' : ''
      item.classList.toggle('archived', archived)
    }
    archive.addEventListener('click', () => { archived = !archived; show() })
    type.addEventListener('change', show)
    const error = h('p', { class: 'field-error', 'data-part': 'error', role: 'alert', hidden: true })
    const move = (/** @type {-1 | 1} */ by) => {
      const sibling = by < 0 ? item.previousElementSibling : item.nextElementSibling
      if (!sibling) return
      if (by < 0) sibling.before(item)
      else sibling.after(item)
      renumber()
      find(item, `[data-part=${by < 0 ? 'up' : 'down'}]`).focus()
    }
    const item = h('li', { class: 'field-row', 'data-testid': 'field-row', 'data-key': spec?.key ?? '' },
      h('fieldset', {},
        h('legend', {}, 'Field'),
        labelled(id('key'), 'Key', key),
        labelled(id('label'), 'Label', label),
        labelled(id('type'), 'Type', type),
        settings.options, settings.scale, settings.target, settings.many, settings.required, settings.unique,
        state,
        error,
        h('div', { class: 'form-buttons' },
          h('button', { type: 'button', class: 'secondary', 'data-part': 'up', onclick: () => move(-1) }, 'Up'),
          h('button', { type: 'button', class: 'secondary', 'data-part': 'down', onclick: () => move(1) }, 'Down'),
          archive,
          fresh ? h('button', { type: 'button', class: 'secondary', 'data-part': 'remove', onclick: () => { item.remove(); renumber() } }, 'Remove field') : null)))
    readers.set(item, () => {
      const kind = type.value
      /** @type {FieldSpec} */
      const read = { key: key.value.trim(), label: label.value.trim() || key.value.trim(), type: kind }
      if (WITH_OPTIONS.has(kind)) read.options = parseOptions(options.value)
      if (kind === 'decimal') read.scale = Number(scale.value)
      if (kind === 'link') {
        read.target = target.value
        read.many = many.checked
      }
      if (!CANNOT_BE_REQUIRED.has(kind) && required.checked) read.required = true
      if (CAN_BE_UNIQUE.has(kind) && unique.checked) read.unique = true
      if (archived) read.archived = true
      return read
    })
    show()
    return item
  }

  /** Legends and buttons say which field they are about: "Field 2", "Remove field 2", "Move field 2 up". */
  const renumber = () => {
    [...rows.children].forEach((item, index) => {
      const which = `field ${index + 1}`
      find(item, 'legend').textContent = `Field ${index + 1}`
      const remove = item.querySelector('[data-part=remove]')
      if (remove) remove.textContent = `Remove ${which}`
      find(item, '[data-part=up]').setAttribute('aria-label', `Move ${which} up`)
      find(item, '[data-part=down]').setAttribute('aria-label', `Move ${which} down`)
    })
  }

  /** A new row at the end; the person who asked for it goes on typing its key. */
  const addField = (focus = true) => {
    const item = row(null)
    rows.append(item)
    renumber()
    if (focus) find(item, '[data-part=key]').focus()
  }
  rows.append(...existing.map(row))
  renumber()

  const items = () => /** @type {HTMLElement[]} */ ([...rows.children])
  const clearErrors = () => {
    for (const error of /** @type {NodeListOf<HTMLElement>} */ (rows.querySelectorAll('[data-part=error]'))) {
      error.hidden = true
      error.textContent = ''
    }
  }
  return {
    element: rows,
    addField,
    read: () => items().map((item) => /** @type {() => FieldSpec} */ (readers.get(item))()),
    clearErrors,
    showErrors (errors) {
      const sent = items()
      const other = []
      for (const [where, message] of Object.entries(errors)) {
        const found = where.match(/^fields\[(\d+)\]/)?.[1]
        const item = found === undefined ? undefined : sent[Number(found)]
        if (item) {
          const error = find(item, '[data-part=error]')
          error.textContent = `Field ${Number(found) + 1}: ${message}`
          error.hidden = false
        } else {
          other.push(`${where}: ${message}`)
        }
      }
      return other
    }
  }
}
