// A tiny element builder, so views read as markup without a framework.

/**
 * h('label', { for: 'x', class: 'field' }, 'Name') → <label for="x" class="field">Name</label>
 *
 * Props: `on<event>` functions become listeners; names the element has as a DOM property (value,
 * checked, disabled, readOnly, textContent…) are set as properties, so they reflect live state; anything
 * else (class, for, data-*, aria-*) is set as an attribute. `null`, `undefined` and `false` are skipped.
 *
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any>} [props]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h (tag, props = {}, ...children) {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value)
    } else if (name in element && !name.includes('-')) {
      /** @type {any} */ (element)[name] = value
    } else {
      element.setAttribute(name, value === true ? '' : String(value))
    }
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) element.append(child)
  }
  return element
}

/**
 * Replace everything inside `root` with `nodes`.
 * @param {Element} root
 * @param {...(Node | string | null | undefined)} nodes
 */
export function mount (root, ...nodes) {
  root.replaceChildren(...nodes.filter((node) => node !== null && node !== undefined))
}

/**
 * A page's main heading: where focus lands after moving to another page (main.js), so keyboard and
 * screen-reader users start at the new content. tabindex -1: focusable by script, not a Tab stop.
 */
/**
 * @param {string} text
 * @param {Record<string, any>} [props]
 */
export function pageHeading (text, props = {}) {
  return h('h1', { tabindex: '-1', ...props }, text)
}

/**
 * The element `selector` finds in `root`, which the caller put there (so it is a bug if it is missing).
 * @param {ParentNode} root
 * @param {string} selector
 * @returns {HTMLElement}
 */
export function find (root, selector) {
  const found = root.querySelector(selector)
  if (!(found instanceof HTMLElement)) throw new Error(`nothing matches ${selector}`)
  return found
}
