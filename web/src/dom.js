// A tiny element builder, so views read as markup without a framework.

/**
 * h('label', { for: 'x', class: 'field' }, 'Name') → <label for="x" class="field">Name</label>
 *
 * Props: `on<event>` functions become listeners; names the element has as a DOM property (value,
 * checked, disabled, readOnly, textContent…) are set as properties, so they reflect live state; anything
 * else (class, for, data-*, aria-*) is set as an attribute. `null`, `undefined` and `false` are skipped.
 *
 * @param {string} tag
 * @param {Record<string, any>} [props]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function h (tag, props = {}, ...children) {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value)
    } else if (name in element && !name.includes('-')) {
      element[name] = value
    } else {
      element.setAttribute(name, value === true ? '' : String(value))
    }
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) element.append(child)
  }
  return element
}

/** Replace everything inside `root` with `nodes`. */
export function mount (root, ...nodes) {
  root.replaceChildren(...nodes)
}

/**
 * A page's main heading: where focus lands after moving to another page (main.js), so keyboard and
 * screen-reader users start at the new content. tabindex -1: focusable by script, not a Tab stop.
 */
export function pageHeading (text, props = {}) {
  return h('h1', { tabindex: '-1', ...props }, text)
}
