// The record page's controls: one bound control per shown field of the collection, in the schema's order
// (fields.js binds each). `use(collection)` is called again when an admin changes the schema while the page
// is open (the feed's `collection.updated`): the controls of unchanged fields stay as they are (focus,
// caret, what is being typed), a relabelled one only shows its new label, a field changed otherwise (its
// options, required) is bound afresh, an archived one leaves (its value is kept), a new one appears.
// Presence markers and conflict slots follow the controls.
import { bindField, shownFields } from './fields.js'

/** @typedef {import('./types.js').FieldSpec} FieldSpec */
/** @typedef {ReturnType<typeof bindField>} Binding */

/**
 * @param {import('yjs').Map<any>} fields the record's
 * @param {{ awareness: import('y-protocols/awareness').Awareness, container: HTMLElement,
 *   conflicts: { attach: (key: string, element: HTMLElement) => void, detach: (key: string) => void } }} options
 *   `container`: the fieldset the controls go in (after its legend)
 */
export function recordForm (fields, { awareness, container, conflicts }) {
  /** What each shown field is bound with, and the spec it was bound for but its label (as JSON). */
  /** @type {Map<string, {spec: string, binding: Binding}>} */
  const bound = new Map()
  /** Where presence shows who is editing which field (presence.js reads it on every change). */
  /** @type {Record<string, HTMLElement>} */
  const markers = {}
  let readOnly = true // as the fieldset starts: disabled until the document holds the server's state
  const before = container.firstElementChild // the legend: the controls come after it

  /** @param {string} key */
  const drop = (key) => {
    const entry = bound.get(key)
    if (!entry) return
    entry.binding.destroy()
    entry.binding.element.remove()
    bound.delete(key)
    delete markers[key]
    conflicts.detach(key)
  }

  return {
    markers,
    /** Show the fields of `collection` (again). @param {{fields: FieldSpec[]}} collection */
    use (collection) {
      const specs = shownFields(collection)
      const shown = new Set(specs.map((spec) => spec.key))
      for (const key of [...bound.keys()]) if (!shown.has(key)) drop(key)
      const elements = specs.map((spec) => {
        const json = JSON.stringify({ ...spec, label: null })
        bound.get(spec.key)?.binding.relabel(spec.label)
        if (bound.get(spec.key)?.spec !== json) {
          drop(spec.key)
          const binding = bindField(spec, fields, { awareness })
          binding.setReadOnly(readOnly)
          bound.set(spec.key, { spec: json, binding })
          markers[spec.key] = binding.marker
          conflicts.attach(spec.key, binding.element)
        }
        return /** @type {{binding: Binding}} */ (bound.get(spec.key)).binding.element
      })
      // In order, moving only what is out of place: a control left where it is keeps its focus.
      let at = before ? before.nextElementSibling : container.firstElementChild
      for (const element of elements) {
        if (at !== element) container.insertBefore(element, at)
        else at = at.nextElementSibling
      }
    },
    /** @param {boolean} disabled rich-text editors are switched one by one (the fieldset does the rest) */
    setReadOnly (disabled) {
      readOnly = disabled
      for (const { binding } of bound.values()) binding.setReadOnly(disabled)
    },
    /** The server put values right: each field says why. @param {Record<string, unknown>} reasons */
    corrected (reasons) {
      for (const [key, { binding }] of bound) {
        if (typeof reasons?.[key] === 'string') binding.corrected(/** @type {string} */ (reasons[key]))
      }
    },
    destroy () {
      for (const { binding } of bound.values()) binding.destroy()
    }
  }
}
