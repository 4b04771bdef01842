// What changed between two versions of a short text, and where a caret in the old one belongs in the
// new one. Pure: fields.js uses it to keep the caret when another person's value replaces the text of
// a focused input, and to tell typing from deleting for undo steps.

/**
 * The single span that differs: `before.slice(start, before.length - end)` became
 * `after.slice(start, after.length - end)`; `start` and `end` are the common prefix and suffix
 * (never overlapping).
 * @param {string} before
 * @param {string} after
 * @returns {{start: number, end: number, inserted: string, deleted: number}}
 */
export function diff (before, after) {
  const shorter = Math.min(before.length, after.length)
  let start = 0
  while (start < shorter && before[start] === after[start]) start++
  let end = 0
  while (end < shorter - start && before[before.length - 1 - end] === after[after.length - 1 - end]) end++
  return { start, end, inserted: after.slice(start, after.length - end), deleted: before.length - end - start }
}

/**
 * Where the caret at `offset` in `before` goes in `after`: text before the caret unchanged keeps the
 * offset; a caret after the changed span keeps its distance from the end; a caret inside it goes to the
 * end of what replaced it (the others' text is not typed into, it comes before our caret).
 * @param {string} before
 * @param {string} after
 * @param {number} offset
 */
export function mapCaret (before, after, offset) {
  const { start, end } = diff(before, after)
  if (offset <= start) return offset
  if (offset >= before.length - end) return after.length - (before.length - offset)
  return after.length - end
}
