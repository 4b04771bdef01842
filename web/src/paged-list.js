// A list that loads page after page ("Show older …") from an API answering {items…, next_before}.
// Drawers share it so paging, the empty line and error display behave the same everywhere.

import { h } from './dom.js'
import { pager } from './pager.js'

/**
 * @template T
 * @param {object} options
 * @param {HTMLElement} options.list where the items go
 * @param {HTMLElement} options.more the "Show older" button, hidden after the last page
 * @param {HTMLElement} options.problem hidden while a page loads
 * @param {(before: number | null) => Promise<import('./types.js').Page<T>>} options.fetchPage
 * @param {(item: T) => Node} options.render
 * @param {string} options.emptyText shown when there is nothing at all
 * @param {(error: any) => void} options.fail
 */
export function pagedList ({ list, more, problem, fetchPage, render, emptyText, fail }) {
  const pages = pager(fetchPage)
  const load = async () => {
    problem.hidden = true
    try {
      const items = await pages.next()
      list.append(...items.map(render))
      if (list.childElementCount === 0) list.append(h('li', { class: 'empty' }, emptyText))
      more.hidden = !pages.more
    } catch (error) {
      fail(error)
    }
  }
  const reload = async () => {
    pages.reset()
    list.replaceChildren()
    await load()
  }
  more.addEventListener('click', load)
  return { load, reload }
}
