"""What a list request asks for (`GET /api/records`), read strictly from its parameters against the schema.

Sort by a field or by the record's `created_at`/`updated_at`, `asc` or `desc`; filters `f.<key>.<op>`
with the operators of the field's type; `updated_by`, `updated_within_days`, `q`; and a keyset `cursor`.
Anything unknown or malformed is `InvalidArgument` (400) naming it, never a 500.

A cursor is opaque to clients: the position of the last row of the previous page (its sort value and id,
and whether it was among the records with no value, which come last in either order), for one sort and
order. It carries a checksum, so that a cursor altered or cut short is refused rather than read as some
other position; it grants nothing (every page is scoped and role-checked like the first). A cursor after a
page whose total was an estimate carries that estimate, with a fingerprint of the filters it was made for:
the next pages of the same filters show it again instead of estimating anew (list_totals.py).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from collab.errors import InvalidArgument
from collab.records.schema import FieldSpec, is_date

TIMES = ("created_at", "updated_at")
ORDERS = ("asc", "desc")
MAX_LIMIT = 200
MAX_DAYS = 36_500
MAX_TEXT = 200
MAX_CHOICES = 100
# The column a field's values sort and filter by, per field type (types yet to come included).
KINDS = {
    "text": "text",
    "richtext": "text",
    "select": "text",
    "email": "text",
    "url": "text",
    "phone": "text",
    "person": "text",
    "number": "number",
    "decimal": "decimal",
    "date": "date",
    "boolean": "bool",
    "multiselect": "multi",
    "link": "multi",
}
OPERATORS = {
    "text": ("contains", "in", "empty"),
    "number": ("gte", "lte", "empty"),
    "date": ("gte", "lte", "empty"),
    "bool": ("is", "empty"),
    "decimal": ("gte", "lte", "empty"),
    "multi": ("in", "empty"),  # any of the values; none at all
}
# Kinds a list can be sorted by (a multi-valued field has no one value to sort by).
SORTABLE = ("text", "number", "date", "bool", "decimal")
_MAX_EXPONENT = 300
_CURSOR_VERSION = 2  # 2 added the carried estimate; a version 1 cursor (no estimate) is still read
_CHECK_BYTES = 8
_CHECK_KEY = b"collab list cursor"


@dataclass(frozen=True, slots=True)
class Filter:
    field: str
    kind: str  # text | number | date | bool
    op: str
    value: Any  # str (contains), tuple[str, ...] (in), Decimal (gte/lte number), date, bool


@dataclass(frozen=True, slots=True)
class Cursor:
    empty: bool  # among the records with no value for the sort field (they come last)
    value: Any  # the sort value: datetime, str (folded text), Decimal, date, bool; None when empty
    record_id: str
    # The first page's estimated total, for the same filters (`ListQuery.filtered`); None: count anew.
    total: int | None = None


@dataclass(frozen=True, slots=True)
class ListQuery:
    sort: str  # a field key, or one of TIMES
    kind: str  # "time" or the sort field's kind
    descending: bool
    limit: int = 50
    filters: tuple[Filter, ...] = ()
    search: str | None = None
    updated_by: str | None = None
    updated_within_days: int | None = None
    cursor: Cursor | None = None

    @property
    def filtered(self) -> str:
        """A fingerprint of what the records must pass (filters, search, author, days): a cursor carries
        it with an estimated total, which only pages of the same filters may show again."""
        wanted = (sorted(map(repr, self.filters)), self.search, self.updated_by, self.updated_within_days)
        return hashlib.blake2b(repr(wanted).encode(), digest_size=8).hexdigest()


def parse(specs: list[FieldSpec], params: Mapping[str, str]) -> ListQuery:
    """The query `params` (a request's query string) ask for, in a collection of these fields."""
    kinds = {spec.key: KINDS.get(spec.type) for spec in specs}
    sort = params.get("sort") or "created_at"
    if sort in TIMES:
        kind = "time"
    elif sort in kinds:
        kind = _kind(kinds, sort, "sort by")
        if kind not in SORTABLE:
            raise InvalidArgument(f"cannot sort by field {sort!r}: it holds a list of values")
    else:
        raise InvalidArgument(
            f"cannot sort by {sort!r}: not a field of this collection, nor {' or '.join(TIMES)}"
        )
    order = params.get("order") or ("desc" if kind == "time" else "asc")
    if order not in ORDERS:
        raise InvalidArgument("order must be asc or desc")
    if "offset" in params:
        raise InvalidArgument("offset is not supported: pass the next_cursor of the previous page as cursor")
    search = (params.get("q") or "").strip()[:MAX_TEXT] or None
    cursor = params.get("cursor") or None
    query = ListQuery(
        sort=sort,
        kind=kind,
        descending=order == "desc",
        limit=_integer(params, "limit", 50, 1, MAX_LIMIT),
        filters=tuple(_filter(kinds, name, raw) for name, raw in params.items() if name.startswith("f.")),
        search=search.lower() if search else None,
        updated_by=_text(params.get("updated_by"), "updated_by") or None,
        updated_within_days=_integer(params, "updated_within_days", None, 1, MAX_DAYS),
    )
    if cursor is None:
        return query
    return replace(query, cursor=decode_cursor(cursor, sort, order, kind, query.filtered))


def _kind(kinds: Mapping[str, str | None], key: str, doing: str) -> str:
    kind = kinds[key]
    if kind is None:
        raise InvalidArgument(f"cannot {doing} field {key!r}: its type has no order")
    return kind


def _filter(kinds: Mapping[str, str | None], name: str, raw: str) -> Filter:
    key, dot, op = name[2:].rpartition(".")
    if not dot:
        raise InvalidArgument(f"{name}: name the operator too, as f.<field>.<operator>")
    if key not in kinds:
        raise InvalidArgument(f"{name}: {key!r} is not a field of this collection")
    kind = _kind(kinds, key, "filter")
    if op not in OPERATORS[kind]:
        raise InvalidArgument(f"{name}: a {kind} field filters with {', '.join(OPERATORS[kind])}, not {op!r}")
    return Filter(key, kind, op, _operand(name, kind, op, raw))


def _operand(name: str, kind: str, op: str, raw: str) -> Any:
    if op == "empty":
        if raw not in ("1", "0", "true", "false"):
            raise InvalidArgument(f"{name} must be 1 (empty) or 0 (not empty)")
        return raw in ("1", "true")
    if op == "is":
        if raw not in ("true", "false"):
            raise InvalidArgument(f"{name} must be true or false")
        return raw == "true"
    if op == "contains":
        text = _text(raw, name)
        if not text:
            raise InvalidArgument(f"{name} needs some text")
        return text
    if op == "in":
        choices = tuple(_text(choice, name) for choice in raw.split(","))
        if not raw or len(choices) > MAX_CHOICES:
            raise InvalidArgument(f"{name} takes 1 to {MAX_CHOICES} values, separated by commas")
        return choices
    if kind == "date":
        if not is_date(raw):
            raise InvalidArgument(f"{name} must be a date as YYYY-MM-DD")
        return dt.date.fromisoformat(raw)
    return _number(name, raw)


def _number(name: str, raw: str) -> Decimal:
    """Exact, as the decimal text says (a double would not compare exactly with PostgreSQL's NUMERIC)."""
    try:
        number = Decimal(raw.strip())
    except ArithmeticError:
        raise InvalidArgument(f"{name} must be a number") from None
    if not number.is_finite():
        raise InvalidArgument(f"{name} must be a finite number")
    if number and not -_MAX_EXPONENT <= number.adjusted() <= _MAX_EXPONENT:
        # Beyond a double's range: SQLite compares doubles, and PostgreSQL's NUMERIC refuses 1e999999.
        raise InvalidArgument(f"{name} is out of range")
    return number


def _text(raw: str | None, name: str) -> str:
    if raw is None:
        return ""
    if len(raw) > MAX_TEXT:
        raise InvalidArgument(f"{name}: at most {MAX_TEXT} characters")
    if "\x00" in raw:
        raise InvalidArgument(f"{name} may not contain NUL characters")
    return raw


def _integer(params: Mapping[str, str], name: str, default: Any, low: int, high: int) -> Any:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidArgument(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise InvalidArgument(f"{name} must be between {low} and {high}")
    return value


def encode_cursor(query: ListQuery, cursor: Cursor) -> str:
    """The opaque token of `cursor` in `query`'s sort and order."""
    value = cursor.value
    if isinstance(value, dt.datetime | dt.date):
        value = value.isoformat()
    elif isinstance(value, Decimal | float | int) and not isinstance(value, bool):
        value = str(value)  # exactly: a Decimal as it is, a double as its shortest repr
    carried = [None, None] if cursor.total is None else [cursor.total, query.filtered]
    payload = json.dumps(
        [_CURSOR_VERSION, query.sort, query.descending, cursor.empty, value, cursor.record_id, *carried],
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    return base64.urlsafe_b64encode(_check(payload) + payload).decode().rstrip("=")


def decode_cursor(token: str, sort: str, order: str, kind: str, filtered: str | None = None) -> Cursor:
    """The position `token` names; `InvalidArgument` when it was altered, or made for another sort. Its
    carried estimate only when it was made for these filters (`filtered`: `ListQuery.filtered`)."""
    refused = InvalidArgument("cursor is not valid: pass the next_cursor of a previous page unchanged")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise refused from None
    check, payload = raw[:_CHECK_BYTES], raw[_CHECK_BYTES:]
    if len(token) > 2000 or check != _check(payload):
        raise refused
    try:
        fields = json.loads(payload)
        version, cursor_sort, descending, empty, value, record_id = fields[:6]
        total, made_for = fields[6:] if version == _CURSOR_VERSION else (None, None)
    except (ValueError, TypeError):
        raise refused from None
    if version not in (1, _CURSOR_VERSION) or not isinstance(record_id, str) or not isinstance(empty, bool):
        raise refused
    if cursor_sort != sort or descending != (order == "desc"):
        raise InvalidArgument("cursor was made for another sort or order: start again without it")
    carried = _carried(total) if filtered is not None and made_for == filtered else None
    try:
        return Cursor(empty, None if empty else _sort_value(kind, value), record_id, carried)
    except (ValueError, TypeError):
        raise refused from None


def _carried(total: Any) -> int | None:
    return total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None


def _sort_value(kind: str, value: Any) -> Any:
    if kind == "time" and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    if kind == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if kind == "text" and isinstance(value, str):
        return value
    if kind == "number" and isinstance(value, str):
        return _number("cursor", value)
    if kind == "decimal" and isinstance(value, str) and value.isdigit():
        return value  # the sort key itself (persistence/decimal_keys.py)
    if kind == "bool" and isinstance(value, bool):
        return value
    raise ValueError(f"a {kind} cursor holds {type(value).__name__}")


def _check(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=_CHECK_BYTES, key=_CHECK_KEY).digest()
