// A collection's trash (`#/c/<name>/trash`, editors and admins; a viewer is told so): its deleted records,
// newest deletion first, who deleted each and when, and when the server purges it; Restore brings one
// back. The server pages the list by cursor (`GET /api/collections/<name>/trash`); restoring is the
// record's undelete.
// The collection's feed keeps it current: a record deleted or restored by anyone reloads the first page.
import * as api from './api.js'
import { h, mount, pageHeading } from './dom.js'
import { followCollection } from './feed.js'
import { at, onDate, timeProps } from './time.js'
import { toast } from './toast.js'
import { nameOf } from './wording.js'
import { collectionHash, tabTitle } from './workspace.js'

/**
 * @typedef {{ id: string, collection: string, title: string | null, deleted_at: string,
 *   deleted_by: import('./types.js').Person | null, purge_at: string | null }} TrashItem
 * @typedef {{ records: TrashItem[], next_cursor: string | null, retention_days: number | null }} TrashPage
 */

/**
 * What the page says about the purge, from the server's retention.
 * @param {number | null} days
 */
export function retentionWords (days) {
  if (days === null || days === undefined) return 'Deleted records stay here until someone restores them.'
  const n = Math.round(days * 100) / 100
  return `Deleted records are purged after ${n} ${n === 1 ? 'day' : 'days'}.`
}

/**
 * @param {HTMLElement} root
 * @param {string} name the collection
 * @param {AbortSignal} signal
 * @param {boolean} mayList whether the user may see the trash (editors and admins)
 */
export async function showTrash (root, name, signal, mayList) {
  if (!mayList) { // the server shows viewers no trash (403): say so rather than fail
    const collections = await api.listCollections()
    if (signal.aborted) return
    const label = collections.find((c) => c.name === name)?.label ?? name
    document.title = tabTitle(`Trash · ${label}`)
    mount(root, h('nav', { class: 'crumbs' }, h('a', { href: collectionHash(name) }, `← ${label}`)),
      pageHeading(`Trash · ${label}`),
      h('p', { class: 'banner', role: 'note' }, 'Only editors and admins can see the trash.'))
    return
  }
  const [collections, first] = await Promise.all([api.listCollections(), api.listTrash(name, null)])
  if (signal.aborted) return
  const label = collections.find((c) => c.name === name)?.label ?? name
  document.title = tabTitle(`Trash · ${label}`)
  const list = h('ul', { class: 'rows trash', 'data-testid': 'trash' })
  const empty = h('p', { class: 'banner', role: 'note', 'data-testid': 'trash-empty', hidden: true }, 'Nothing in the trash')
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show more')
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true })
  let cursor = first.next_cursor

  const refreshEmpty = () => { empty.hidden = list.childElementCount > 0 }
  /** @param {unknown} error */
  const fail = (error) => {
    problem.textContent = error instanceof Error ? error.message : String(error)
    problem.hidden = false
  }

  /** @param {TrashItem} item */
  const row = (item) => {
    const title = item.title || 'Untitled'
    const restore = h('button', { type: 'button', class: 'secondary', 'aria-label': `Restore ${title}` }, 'Restore')
    const element = h('li', { class: 'row', 'data-testid': 'trash-row', 'data-record': item.id },
      h('div', { class: 'row-main' },
        h('strong', { class: 'trash-title' }, title),
        h('div', { class: 'muted' }, 'Deleted by ', nameOf(item.deleted_by, 'someone'), ' · ',
          h('time', timeProps(item.deleted_at), at(item.deleted_at))),
        item.purge_at
          ? h('div', { class: 'muted' }, 'Purged on ', h('time', timeProps(item.purge_at), onDate(item.purge_at)))
          : null),
      restore)
    restore.addEventListener('click', async () => {
      restore.disabled = true
      problem.hidden = true
      try {
        await api.undeleteRecord(item.id)
      } catch (error) {
        restore.disabled = false
        fail(error)
        return
      }
      element.remove()
      refreshEmpty()
      toast(`Restored “${title}”.`, { label: 'Open', run: () => { location.hash = `#/records/${encodeURIComponent(item.id)}` } })
    })
    return element
  }

  /** @param {TrashPage} page */
  const show = (page) => {
    list.append(...page.records.map(row))
    cursor = page.next_cursor
    more.hidden = cursor === null
    refreshEmpty()
  }
  more.addEventListener('click', async () => {
    more.disabled = true
    problem.hidden = true
    try {
      const page = await api.listTrash(name, cursor)
      if (!signal.aborted) show(page)
    } catch (error) {
      fail(error)
    } finally {
      more.disabled = false
    }
  })

  let reloading = false
  let again = false // asked for while a reload was under way: one more after it
  const reload = async () => {
    if (reloading) {
      again = true
      return
    }
    reloading = true
    try {
      do {
        again = false
        const page = await api.listTrash(name, null)
        if (signal.aborted) return
        list.replaceChildren()
        show(page)
      } while (again)
    } catch {
      // Unreachable now: the next event or visit shows it.
    } finally {
      reloading = false
    }
  }

  show(first)
  followCollection(name, signal, {
    open: ({ resumed }) => { if (!resumed) reload() },
    record: (type) => { if (type === 'record.deleted' || type === 'record.restored') reload() },
    presence: () => {},
    reset: () => { reload() }
  })
  mount(root,
    h('nav', { class: 'crumbs' }, h('a', { href: collectionHash(name) }, `← ${label}`)),
    pageHeading(`Trash · ${label}`),
    h('p', { class: 'muted', 'data-testid': 'retention' }, retentionWords(first.retention_days)),
    problem, empty, list, more)
}
