"""The value rules of each field type: what fits, and the one form it is stored in.

`problem` says why a value does not fit its field (None when it does); `normalized` gives the form a value
that fits is stored in (a decimal's canonical string, an email or url trimmed). Both are pure, so HTTP
writes, CSV imports and live corrections apply the same rules. Whether a person or a linked record exists
is a question for the database: collab/records/references.py asks it for HTTP writes.

Values people type and other people click (email, url, phone) are kept as plain strings, like `text`; a
url must be absolute `http:` or `https:`, so that no `javascript:` or `data:` link can ever be stored.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from collab.records import decimals

if TYPE_CHECKING:
    from collab.records.schema import FieldSpec

MAX_EMAIL_CHARS = 254
MAX_URL_CHARS = 2048
MAX_LINKS = 100
MAX_CHOICES = 100
# The integers a JavaScript number holds exactly (Number.MAX_SAFE_INTEGER).
MAX_SAFE_INTEGER = 2**53 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_PHONE = re.compile(r"\+?[0-9 ().-]+")
_ID = re.compile(r"[0-9a-f]{32}")
_URL_FORBIDDEN = re.compile(r"[\x00-\x20\x7f]")
TEXT_LIKE = ("text", "email", "url", "phone")


def problem(spec: FieldSpec, value: Any, max_text: int) -> str | None:
    """Why `value` (not None) is no value of `spec`'s field, or None."""
    kind = spec.type
    if kind in ("text", "richtext"):
        if not isinstance(value, str):
            return "expected a string"
        return f"at most {max_text} characters" if len(value) > max_text else None
    if kind == "number":
        return _number_problem(value)
    if kind == "boolean":
        return None if isinstance(value, bool) else "expected true or false"
    if kind == "date":
        return None if isinstance(value, str) and is_date(value) else "expected a date as YYYY-MM-DD"
    if kind == "select":
        return None if value in spec.options else f"expected one of {', '.join(spec.options)}"
    if kind == "email":
        return None if isinstance(value, str) and is_email(value.strip()) else "expected an email address"
    if kind == "url":
        return (
            None
            if isinstance(value, str) and is_web_url(value.strip())
            else "expected an absolute http: or https: address"
        )
    if kind == "phone":
        return None if isinstance(value, str) and is_phone(value.strip()) else "expected a phone number"
    if kind == "multiselect":
        return _choices_problem(spec, value)
    if kind == "decimal":
        try:
            decimals.canonical(value, scale_of(spec))
        except decimals.DecimalProblem as exc:
            return str(exc)
        return None
    if kind == "person":
        return None if isinstance(value, str) and is_id(value) else "expected a user id"
    if kind == "link":
        return _links_problem(spec, value)
    return f"unknown field type {kind!r}"


def normalized(spec: FieldSpec, value: Any) -> Any:
    """The stored form of a value that fits (`problem` is None)."""
    if spec.type in ("email", "url", "phone"):
        return value.strip()
    if spec.type == "decimal":
        return decimals.canonical(value, scale_of(spec))
    if spec.type in ("multiselect", "link"):
        return list(value)
    return value


def stored_problem(spec: FieldSpec, value: Any, max_text: int) -> str | None:
    """Why a value as a document holds it (after a live edit) is not the stored form of its field: besides
    fitting, a decimal must already be canonical and a text-like value trimmed (a live client writes the
    document directly, so nothing normalises it on the way)."""
    found = problem(spec, value, max_text)
    if found is not None:
        return found
    if normalized(spec, value) != value:
        return "not in its stored form"
    return None


def is_empty(value: Any) -> bool:
    """No value, as `required` sees it: absent, null, an empty or blank text, an empty list."""
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def scale_of(spec: FieldSpec) -> int:
    return decimals.DEFAULT_SCALE if spec.scale is None else spec.scale


def _number_problem(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "expected a number"
    if isinstance(value, float) and not math.isfinite(value):
        return "expected a finite number"
    if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
        return f"a whole number must be between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}"
    return None


def _choices_problem(spec: FieldSpec, value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return "expected a list of options"
    if len(set(value)) != len(value):
        return "each option at most once"
    if len(value) > MAX_CHOICES:
        return f"at most {MAX_CHOICES} options"
    unknown = [item for item in value if item not in spec.options]
    if unknown:
        return f"expected options among {', '.join(spec.options)}"
    return None


def _links_problem(spec: FieldSpec, value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(item, str) and is_id(item) for item in value):
        return "expected a list of record ids"
    if len(set(value)) != len(value):
        return "each record at most once"
    limit = MAX_LINKS if spec.many else 1
    if len(value) > limit:
        return f"at most {limit} linked record{'s' if limit > 1 else ''}"
    return None


def valid_unicode(text: str) -> bool:
    """No lone surrogates: the text can be encoded as UTF-8 (Yjs, both databases, every response)."""
    return _SURROGATE.search(text) is None


def is_date(text: str) -> bool:
    """Exactly `YYYY-MM-DD`, and a real day."""
    if not _DATE.fullmatch(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def is_email(text: str) -> bool:
    return len(text) <= MAX_EMAIL_CHARS and _EMAIL.fullmatch(text) is not None


def is_web_url(text: str) -> bool:
    """An absolute http(s) address with a host: never `javascript:`, `data:` or a relative path."""
    if len(text) > MAX_URL_CHARS or _URL_FORBIDDEN.search(text):
        return False
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc) and bool(host)


def is_phone(text: str) -> bool:
    """`+` first if at all, then digits, spaces, `-`, `(`, `)`, `.`; 7 to 20 digits."""
    if not _PHONE.fullmatch(text):
        return False
    digits = sum(character.isdigit() for character in text)
    return 7 <= digits <= 20


def is_id(text: str) -> bool:
    return _ID.fullmatch(text) is not None
