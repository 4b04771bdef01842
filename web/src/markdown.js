// Rich text is markdown in the field's Y.Text; this turns it into something to read. Whatever a field
// holds, what this returns cannot run script.
//
// Two layers, either of which would be enough on its own:
// 1. markdown-it with `html: false` (a tag typed into a field stays text) and a link check of our own:
//    only absolute http:, https: and mailto: addresses become links; images are switched off (a field
//    never makes the browser fetch anything, and the CSP would refuse other hosts anyway), and headings
//    are demoted by two levels so a field's "# Title" never competes with the page's own heading.
// 2. DOMPurify over the result with an allow-list of the tags and attributes markdown-it can produce:
//    defence in depth should a markdown-it change or a plugin ever let markup through.
// Links open in a new tab with `rel="noopener noreferrer"`, so the linked page gets no handle on ours.
//
// `markdownHtml` is pure (it runs in Node's tests); `renderMarkdown` needs a DOM for DOMPurify.
import DOMPurify from 'dompurify'
import MarkdownIt from 'markdown-it'

/** The only link targets a field may hold. */
const SAFE_URL = /^(?:https?:|mailto:)/i
/** The tags markdown-it writes with the rules enabled below; DOMPurify drops every other one. */
const TAGS = ['p', 'br', 'strong', 'em', 's', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'h3', 'h4', 'h5',
  'h6', 'a', 'hr', 'table', 'thead', 'tbody', 'tr', 'th', 'td']
const ATTRIBUTES = ['href', 'title', 'start', 'target', 'rel']
/** How many levels a field's headings go down: "#" becomes an h3 (the page has its h1, sections h2). */
const HEADING_SHIFT = 2

const md = new MarkdownIt({ html: false, linkify: true, breaks: true })
md.disable('image')
md.validateLink = (url) => SAFE_URL.test(url.trim())
md.core.ruler.push('demote_headings', (state) => {
  for (const token of state.tokens) {
    if (token.type === 'heading_open' || token.type === 'heading_close') {
      token.tag = `h${Math.min(6, Number(token.tag.slice(1)) + HEADING_SHIFT)}`
    }
  }
})

/**
 * The HTML markdown-it makes of `text` (not sanitised yet: `renderMarkdown` does that).
 * @param {string} text
 * @returns {string}
 */
export const markdownHtml = (text) => md.render(text)

/** @type {import('dompurify').DOMPurify | null} */
let purifier = null

/** One DOMPurify of our own (its hooks are per instance), made on first use: it needs the page's window. */
function sanitizer () {
  if (purifier) return purifier
  purifier = DOMPurify(window)
  purifier.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName !== 'A') return
    const href = node.getAttribute('href')
    if (href === null || !SAFE_URL.test(href.trim())) {
      node.removeAttribute('href')
      return
    }
    node.setAttribute('target', '_blank')
    node.setAttribute('rel', 'noopener noreferrer')
  })
  return purifier
}

/**
 * `text` (markdown) as sanitised elements, ready to append: nothing in it can run script.
 * @param {string} text
 * @returns {DocumentFragment}
 */
export const renderMarkdown = (text) => sanitizeHtml(markdownHtml(text))

/**
 * The second layer on its own: `html` reduced to the tags, attributes and link targets markdown-it makes
 * here, links opening in a new tab without a handle on ours. Exported for the browser test of this layer.
 * @param {string} html
 * @returns {DocumentFragment}
 */
export function sanitizeHtml (html) {
  return sanitizer().sanitize(html, {
    ALLOWED_TAGS: TAGS,
    ALLOWED_ATTR: ATTRIBUTES,
    ALLOWED_URI_REGEXP: SAFE_URL,
    RETURN_DOM_FRAGMENT: true
  })
}

/**
 * An element showing `text` rendered: `class="markdown"` for its styles.
 * @param {string} text
 * @param {Record<string, string>} [attributes]
 * @returns {HTMLDivElement}
 */
export function markdownBlock (text, attributes = {}) {
  const element = document.createElement('div')
  element.className = 'markdown'
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value)
  element.append(renderMarkdown(text))
  return element
}

/**
 * A rich-text field's value in a list or a comparison (history, snapshots): rendered, cut after
 * `maxChars` characters of its markdown with "…", or "(empty)".
 * @param {unknown} value
 * @param {number} maxChars
 * @returns {HTMLElement}
 */
export function richValue (value, maxChars) {
  const text = typeof value === 'string' ? value : value === null || value === undefined ? '' : JSON.stringify(value)
  if (text.trim() === '') {
    const empty = document.createElement('span')
    empty.textContent = '(empty)'
    return empty
  }
  return markdownBlock(text.length > maxChars ? `${text.slice(0, maxChars)}…` : text, { 'data-rich': '' })
}
