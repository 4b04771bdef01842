"""Corrections: live edits brought back within the collection's schema by a forward update.

A live update is checked for what no honest client can send (collab/live/admission.py) and refused then; a
value that merely does not fit the schema (a string in a number field, an unknown key, a text above the
size limit) is accepted and at once corrected by the server. Refusing it instead would leave the sender's
replica, and its offline copy in IndexedDB, holding an update the server never takes: every reconnect would
send it again and be refused again. A correction is an ordinary update, so every replica and the stored
state converge on valid values, and the sender is told which fields were corrected and why.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from pycrdt import Doc, Map, Text

from collab.records.document import fields_map, tidy
from collab.records.field_types import is_empty, normalized, problem, valid_unicode
from collab.records.schema import MAX_TEXT_CHARS, FieldSpec

REQUIRED = "required: the previous value is kept"


def correct(doc: Doc, specs: list[FieldSpec], before: dict[str, Any]) -> tuple[bytes | None, dict[str, str]]:
    """Make the values of the keys of `before` (the fields an edit changed, with their values before it) fit
    `specs`, in one transaction; returns its update (None when nothing was wrong) and a reason per field."""
    by_key = {spec.key: spec for spec in specs}
    target = fields_map(doc)
    reasons: dict[str, str] = {}
    rewritten: set[str] = set()  # values that fitted, rewritten in their stored form (no reason to tell)
    state = doc.get_state()
    with doc.transaction():
        for key in sorted(before):
            spec = by_key.get(key)
            if key not in target:
                # Deleted: an absent value fits, unless the field is required (and had a value to keep).
                if spec is not None and _required(spec) and not is_empty(before.get(key)):
                    _put_back(target, spec, before.get(key))
                    reasons[key] = REQUIRED
                continue
            if spec is None:
                del target[key]
                reasons[key] = "no such field in this collection"
                continue
            problem = _fix(target, spec, before.get(key), rewritten)
            if problem is not None:
                reasons[key] = problem
    # Only when something was written: an update encoded from `state` is never empty (it carries the whole
    # delete set), so "nothing written" cannot be read off the bytes, and every edit would be echoed.
    if not reasons and not rewritten:
        return None, reasons
    return doc.get_update(state), reasons


def fits(
    by_key: Mapping[str, FieldSpec],
    before: Mapping[str, Any],
    values: Mapping[str, Any],
    texts: Collection[str],
    nested: Collection[str] = (),
) -> bool:
    """Whether `correct` would leave the keys of `before` alone, judged without opening a transaction from
    their values after the edit as `read_fields` gives them (a key missing from `values` is absent from the
    document); `texts`: the keys that hold a Y.Text (`values` has its string), `nested`: those that hold
    another shared type. Judged as `_fix` does; True only when `correct` would write nothing, so skipping
    it then changes no update and no reason (any doubt answers False and `correct` decides)."""
    for key, previous in before.items():
        spec = by_key.get(key)
        if key not in values:
            if spec is not None and _required(spec) and not is_empty(previous):
                return False
            continue
        if spec is None or key in nested:
            return False
        value = values[key]
        if spec.type == "richtext":
            if key not in texts or not isinstance(value, str) or len(value) > MAX_TEXT_CHARS:
                return False
            continue
        if key in texts or _plain_reason(spec, value, previous) is not None:
            return False
        if normalized(spec, value) != value:
            return False
    return True


def _fix(target: Map, spec: FieldSpec, before: Any, rewritten: set[str]) -> str | None:
    """Correct one field if it does not fit; returns why it was corrected, or None."""
    value = target[spec.key]
    if spec.type == "richtext":
        if isinstance(value, Text):
            return _truncate(value)
        if isinstance(value, str):
            target[spec.key] = Text(value[:MAX_TEXT_CHARS])
            return "a rich-text field holds a text"
        _put_back(target, spec, before)
        return "expected a text"
    if isinstance(value, Text):
        if spec.type == "text":
            target[spec.key] = str(value)[:MAX_TEXT_CHARS]
            return "a text field holds a plain string"
        _put_back(target, spec, before)
        return "expected a plain value"
    if spec.type == "text" and isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
        target[spec.key] = value[:MAX_TEXT_CHARS]  # keep what fits rather than nothing
        return f"at most {MAX_TEXT_CHARS} characters"
    current = tidy(value)
    found = _plain_reason(spec, current, before)
    if found is not None:
        _put_back(target, spec, before)
        return found
    stored = normalized(spec, current)
    if stored != current:  # fits, in another form (a decimal as a number, an address with spaces)
        target[spec.key] = stored
        rewritten.add(spec.key)
    return None


def _plain_reason(spec: FieldSpec, current: Any, before: Any) -> str | None:
    """Why a plain value (not a Y.Text, tidied) does not fit `spec`, the previous value `before` aside."""
    found = _problem(spec, current)
    if found is None and _required(spec) and is_empty(current) and not is_empty(before):
        found = REQUIRED
    return found


def _truncate(text: Text) -> str | None:
    # pycrdt measures and indexes a text in UTF-8 bytes, so a text within the limit in bytes is within it in
    # characters too, and only a long one is read as a string.
    if len(text) <= MAX_TEXT_CHARS:
        return None
    content = str(text)
    if len(content) <= MAX_TEXT_CHARS:
        return None
    del text[len(content[:MAX_TEXT_CHARS].encode()) :]
    return f"at most {MAX_TEXT_CHARS} characters"


def _problem(spec: FieldSpec, value: Any) -> str | None:
    if isinstance(value, str) and not valid_unicode(value):
        return "text that is not valid Unicode (a lone surrogate)"
    if isinstance(value, list) and any(isinstance(item, str) and not valid_unicode(item) for item in value):
        return "text that is not valid Unicode (a lone surrogate)"
    return problem(spec, value, MAX_TEXT_CHARS)


def _required(spec: FieldSpec) -> bool:
    return spec.required and not spec.archived


def _put_back(target: Map, spec: FieldSpec, before: Any) -> None:
    """The value before the edit if it fits (it normally does), else no value."""
    if before is None or _problem(spec, before) is not None:
        if spec.key in target:
            del target[spec.key]
    elif spec.type == "richtext":
        target[spec.key] = Text(before)
    else:
        target[spec.key] = normalized(spec, before)
