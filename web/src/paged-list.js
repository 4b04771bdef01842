// A list that loads page after page ("Show older …") from an API answering {items…, next_before}.
// Drawers share it so paging, the empty line and error display behave the same everywhere.

import { h } from './dom.js'

export function pagedList ({ list, more, problem, fetchPage, render, emptyText, fail }) {
  let before = null
  const load = async () => {
    problem.hidden = true
    try {
      const page = await fetchPage(before)
      list.append(...page.items.map(render))
      if (list.childElementCount === 0) list.append(h('li', { class: 'empty' }, emptyText))
      before = page.next_before ?? null
      more.hidden = before === null
    } catch (error) {
      fail(error)
    }
  }
  const reload = async () => {
    before = null
    list.replaceChildren()
    await load()
  }
  more.addEventListener('click', load)
  return { load, reload }
}
