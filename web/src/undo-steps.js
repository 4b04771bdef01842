// Where one undo step ends and the next begins, as in a text editor: at word boundaries and pauses.
// Pure and clock-free (the caller passes the time), shared by rich text (a Y.UndoManager told to stop
// capturing) and the scalar fields' own undo stacks (field-undo.js).
//
// A new step starts with:
// - the first edit, or the first after an undo, a redo or leaving the field (`reset`);
// - an edit PAUSE_MS or more after the previous one;
// - a switch between typing and deleting;
// - a line break, a paste or any other edit of more than one character, and the edit after one;
// - a space or punctuation typed after a letter or digit: "Met in Lyon" is "Met", " in", " Lyon", so
//   Ctrl+Z takes back the last word and leaves the one before it as it was typed.

export const PAUSE_MS = 1000

const ENDS_WORD = /[\p{L}\p{N}_]$/u
const STARTS_WORD = /^[\p{L}\p{N}_]/u

/**
 * One local edit: what it typed (empty for a pure deletion) and how many characters it removed.
 * @typedef {{inserted: string, deleted: number}} Edit
 */

export class UndoSteps {
  /** @param {number} [pauseMs] */
  constructor (pauseMs = PAUSE_MS) {
    this.pauseMs = pauseMs
    /** @type {{at: number, typing: boolean, word: boolean, chunk: boolean} | null} */
    this.last = null
  }

  /**
   * Whether `edit`, made at `now` (ms), starts a new step; it becomes the previous edit.
   * @param {Edit} edit
   * @param {number} now
   */
  starts ({ inserted, deleted }, now) {
    const typing = inserted.length > 0
    const chunk = inserted.length > 1 || deleted > 1 || inserted.includes('\n')
    const last = this.last
    const fresh = last === null || now - last.at >= this.pauseMs || typing !== last.typing ||
      chunk || last.chunk || (typing && last.word && !STARTS_WORD.test(inserted))
    this.last = { at: now, typing, word: ENDS_WORD.test(inserted), chunk }
    return fresh
  }

  /** The next edit starts a new step. */
  reset () {
    this.last = null
  }
}
