// The table's filter bar and column chooser: plain DOM forms (dom.js) inside <details>, so on a phone they
// take one row until opened. Filters per field type (text contains, number and date ranges, select is
// any of, person is any of, checkbox, empty / not empty), updated by, updated within N days; what they mean for the list
// API is table-filters.js. Columns: show or hide, move left or right; remembered by column-prefs.js.
import { h } from './dom.js'
import { loadPeople } from './person-picker.js'
import { kindOf, withFieldFilter } from './table-filters.js'

/** @typedef {import('./table-filters.js').View} View */
/** @typedef {import('./table-filters.js').FieldFilter} FieldFilter */
/** @typedef {import('./types.js').FieldSpec} FieldSpec */
/** @typedef {import('./table-columns.js').Column} Column */

const FILTER_DELAY_MS = 300

/**
 * @param {{ specs: FieldSpec[], getView: () => View, onChange: (view: View) => void,
 *   people: () => Array<{ id: string, name: string }> }} options
 */
export function filterBar ({ specs, getView, onChange, people }) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer
  /** @param {(view: View) => View} change */
  const later = (change) => {
    clearTimeout(timer)
    timer = setTimeout(() => onChange(change(getView())), FILTER_DELAY_MS)
  }
  /** @param {string} key @param {FieldFilter} part */
  const setPart = (key, part) => later((view) => withFieldFilter(view, key, { ...(view.fields[key] ?? {}), ...part }))
  let n = 0
  /** What to fetch when the bar is first opened (the tenant's people): nothing before anyone asks. */
  /** @type {Array<() => void>} */
  const onOpen = []
  /** A labelled control. @param {string} text @param {HTMLElement} control */
  const labelled = (text, control) => {
    control.id = `filter-${++n}`
    return h('div', { class: 'field' }, h('label', { for: control.id }, text), control)
  }
  /** @param {string} label @param {Array<[string, string]>} choices @param {(value: string) => void} set */
  const choose = (label, choices, set) => labelled(label,
    h('select', { onchange: (/** @type {Event} */ e) => set(/** @type {HTMLSelectElement} */ (e.target).value) },
      ...choices.map(([value, text]) => h('option', { value }, text))))

  /** @param {FieldSpec} spec */
  const fieldControls = (spec) => {
    const kind = kindOf(spec.type)
    const label = spec.label || spec.key
    const controls = []
    if (kind === 'text' && (spec.type === 'select' || spec.type === 'person')) {
      const set = h('fieldset', { class: 'choices' }, h('legend', {}, `${label} is any of`))
      const onchange = () => setPart(spec.key, {
        in: [...set.querySelectorAll('input')].filter((box) => box.checked).map((box) => box.value)
      })
      /** @param {Array<[string, string]>} choices value and words */
      const fill = (choices) => set.append(...choices.map(([value, text]) =>
        h('label', { class: 'check' }, h('input', { type: 'checkbox', value, onchange }), text)))
      if (spec.type === 'select') fill((spec.options ?? []).map((option) => [option, option]))
      else onOpen.push(() => loadPeople().then((members) => fill(members.map((member) => [member.id, member.name])), () => fill([])))
      controls.push(set)
    } else if (kind === 'text') {
      controls.push(labelled(`${label} contains`, h('input', { type: 'search', autocomplete: 'off', oninput: (/** @type {Event} */ e) => setPart(spec.key, { contains: /** @type {HTMLInputElement} */ (e.target).value }) })))
    } else if (kind === 'number' || kind === 'date') {
      for (const [op, word] of /** @type {const} */ ([['gte', 'from'], ['lte', 'to']])) {
        controls.push(labelled(`${label} ${word}`, h('input', {
          type: kind === 'date' ? 'date' : 'text', inputMode: kind === 'number' ? 'decimal' : null, autocomplete: 'off',
          oninput: (/** @type {Event} */ e) => setPart(spec.key, { [op]: /** @type {HTMLInputElement} */ (e.target).value })
        })))
      }
    } else if (kind === 'bool') {
      controls.push(choose(label, [['', 'Any'], ['true', 'Checked'], ['false', 'Not checked']], (value) => setPart(spec.key, { is: /** @type {any} */ (value) })))
    }
    if (kind) {
      controls.push(choose(`${label}: value`, [['', 'Any'], ['1', 'Empty'], ['0', 'Not empty']], (value) => setPart(spec.key, { empty: /** @type {any} */ (value) })))
    }
    return controls.length ? h('div', { class: 'filter', 'data-testid': `filter-${spec.key}` }, ...controls) : null
  }

  // Everyone of the tenant (GET /api/people); should that fail, the people the rows show.
  let everyone = false
  /** @param {Array<{ id: string, name: string }>} known */
  const fillWho = (known) => {
    const current = who.value
    who.replaceChildren(h('option', { value: '' }, 'Anyone'), ...known.map((person) => h('option', { value: person.id }, person.name)))
    who.value = current
  }
  onOpen.push(() => loadPeople().then((members) => { everyone = true; fillWho(members) }, () => {}))
  const who = h('select', {
    onfocus: () => { if (!everyone) fillWho(people()) },
    onchange: () => later((view) => ({ ...view, updatedBy: who.value }))
  }, h('option', { value: '' }, 'Anyone'))
  const problems = h('p', { class: 'problem', role: 'status', hidden: true, 'data-testid': 'filter-problems' })
  const element = h('details', {
    class: 'filter-bar',
    'data-testid': 'filter-bar',
    ontoggle: () => { if (element.open) onOpen.splice(0).forEach((run) => run()) }
  },
    h('summary', {}, 'Filters'),
    h('div', { class: 'filters' },
      ...specs.filter((spec) => !spec.archived).map(fieldControls),
      h('div', { class: 'filter' }, labelled('Updated by', who),
        labelled('Updated within (days)', h('input', { type: 'text', inputMode: 'numeric', autocomplete: 'off', oninput: (/** @type {Event} */ e) => later((view) => ({ ...view, updatedWithinDays: /** @type {HTMLInputElement} */ (e.target).value })) })))),
    problems)
  return {
    element,
    /** @param {string[]} said */
    showProblems (said) {
      problems.textContent = said.join(' · ')
      problems.hidden = said.length === 0
    },
    stop: () => clearTimeout(timer)
  }
}

/**
 * @param {{ columns: Column[], getPrefs: () => import('./column-prefs.js').ColumnPrefs,
 *   onShow: (key: string, show: boolean) => void, onMove: (key: string, step: -1 | 1) => void }} options
 */
export function columnChooser ({ columns, getPrefs, onShow, onMove }) {
  const list = h('ul', { class: 'column-list' })
  const draw = () => {
    const prefs = getPrefs()
    const byKey = new Map(columns.map((column) => [column.key, column]))
    list.replaceChildren(...prefs.order.map((key) => {
      const column = byKey.get(key)
      if (!column) return null
      const id = `column-show-${key}`
      return h('li', { 'data-testid': `column-choice-${key}` },
        h('input', { type: 'checkbox', id, checked: !prefs.hidden.includes(key), onchange: (/** @type {Event} */ e) => onShow(key, /** @type {HTMLInputElement} */ (e.target).checked) }),
        h('label', { for: id }, column.label),
        h('button', { type: 'button', class: 'secondary', 'aria-label': `Move ${column.label} left`, onclick: () => onMove(key, -1) }, '←'),
        h('button', { type: 'button', class: 'secondary', 'aria-label': `Move ${column.label} right`, onclick: () => onMove(key, 1) }, '→'))
    }).filter((item) => item !== null))
  }
  draw()
  return { element: h('details', { class: 'column-chooser', 'data-testid': 'column-chooser' }, h('summary', {}, 'Columns'), list), draw }
}
