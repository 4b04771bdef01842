// Undo and redo for one scalar field (text, number, date), over this person's own values only.
//
// A control whose value the app sets (another person's change shown at once) loses the browser's own
// undo history, so fields.js keeps this one: each step is the field's stored value before and after one
// of my steps (undo-steps.js decides where a step ends). Undoing writes my previous value as a new edit.
//
// Someone else's change ends it: my steps were made on a value that is gone, and undoing them would
// silently put mine back over theirs. So when another value arrives, or the stored value is not the one
// my step left (it changed while I was not looking), the steps are dropped and undo does nothing but
// say why (`interrupted`). Pure: no DOM, no Yjs.
import { UndoSteps } from './undo-steps.js'

/** A stored scalar value; `null` for none. @typedef {string | number | boolean | null} Value */

export class FieldUndo {
  /** @param {number} [pauseMs] */
  constructor (pauseMs) {
    this.steps = new UndoSteps(pauseMs)
    /** @type {Array<{before: Value, after: Value}>} */
    this.done = []
    /** @type {Array<{before: Value, after: Value}>} */
    this.undone = []
    /** The last undo or redo found that someone else had changed the field. */
    this.interrupted = false
  }

  /**
   * I changed the field from `before` to `after` by `edit`, at `now` (ms).
   * @param {Value} before
   * @param {Value} after
   * @param {import('./undo-steps.js').Edit} edit
   * @param {number} now
   */
  record (before, after, edit, now) {
    if (before === after) return
    const top = this.done.at(-1)
    if (this.steps.starts(edit, now) || !top || top.after !== before) this.done.push({ before, after })
    else top.after = after
    this.undone = []
    this.interrupted = false
  }

  /**
   * Someone else set the field to `value`: unless it is what my last step left, my steps are dropped.
   * @param {Value} value
   */
  overwritten (value) {
    this.steps.reset()
    const expected = this.undone.length > 0 ? this.undone.at(-1)?.before : this.done.at(-1)?.after
    if (value !== expected) this.drop()
  }

  /**
   * The value to write to take back my last step, given the stored value `current`; `undefined` when
   * there is nothing of mine to undo (or someone else's value is there now: see `interrupted`).
   * @param {Value} current
   * @returns {Value | undefined}
   */
  undo (current) {
    const step = this.done.at(-1)
    if (!step) return undefined
    if (step.after !== current) return this.drop()
    this.done.pop()
    this.undone.push(step)
    this.steps.reset()
    return step.before
  }

  /**
   * The value to write to redo my last undone step, as `undo`.
   * @param {Value} current
   * @returns {Value | undefined}
   */
  redo (current) {
    const step = this.undone.at(-1)
    if (!step) return undefined
    if (step.before !== current) return this.drop()
    this.undone.pop()
    this.done.push(step)
    this.steps.reset()
    return step.after
  }

  /** Leaving the field ends the step being typed. */
  pause () {
    this.steps.reset()
  }

  /** @returns {undefined} */
  drop () {
    this.interrupted ||= this.done.length > 0 || this.undone.length > 0
    this.done = []
    this.undone = []
    return undefined
  }
}
