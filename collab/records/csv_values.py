"""CSV text and field values, both ways: reading an uploaded file, turning its cells into values of each
field type, and writing values as cells. Pure functions: the import and export use-cases
(`collab/services/csv_import.py`, `collab/services/export.py`) do the I/O.

Reading: UTF-8 with or without a byte-order mark; `,` or `;` between cells, whichever splits the header
line into more columns (spreadsheets in many locales write `;`); the first line is the header. An empty
cell is no value.

Cells to values, per field type: numbers as JSON numbers (whole ones as integers), booleans from
`true/false/yes/no/1/0` (any case), dates exactly `YYYY-MM-DD`, a select's option matched ignoring case,
multiselect and link lists split on `;`, decimals kept as the text they are (the schema makes them
canonical), a person by user id or by email address. The schema check (`schema.check_values`) then
decides whether the value fits, as for any other write.

A linked record is named by its id or by its title (`link_ids`): the title matched exactly but ignoring
case, among the live records of the link's target collection; an id wins over a title, a title that
several records have is an error saying how many, and so is one no live record has; an unknown id is
left for the reference check to name, as before. Titles compare as the stored list values do
(`record_values.fold`: their first 200 characters).

Values to cells: lists joined with `; `, booleans `true`/`false`, numbers as JSON writes them, text as it
is. CSV injection: a spreadsheet runs a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return
as a formula, so such a cell is written with a `'` in front (spreadsheets hide it; a plain number such as
`-5` is left alone). So that an export imports back to the same values, a cell starting with `'` followed
by one of those characters or another `'` also gets one, and the import removes exactly one `'` from such
cells.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from collab.errors import CsvInvalid
from collab.records.schema import MAX_SAFE_INTEGER, FieldSpec, is_date
from persistence.models import is_id
from persistence.record_values import fold

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = ";"
LIST_JOINER = "; "
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_LIST_TYPES = ("multiselect", "link")


class CellError(ValueError):
    """A cell that cannot be a value of its field's type; the message says why."""


@dataclass(frozen=True, slots=True)
class Table:
    headers: list[str]
    rows: list[list[str]]  # each as long as `headers` (short rows padded with empty cells)


@dataclass(frozen=True, slots=True)
class LinkTargets:
    """What the cells of one link column name in its target collection, as the database has it."""

    ids: frozenset[str]  # the cells' items that are ids of records there
    titles: Mapping[str, tuple[str, ...]]  # a folded title (`fold`) -> the ids of the live records with it


def link_ids(items: list[str], targets: LinkTargets) -> list[str]:
    """A link cell's items (ids or titles) as record ids; `CellError` for a title several records have or
    none. An unknown id is kept as it is, for the reference check to say so."""
    found: list[str] = []
    for item in items:
        matches = () if item in targets.ids else targets.titles.get(fold(item), ())
        if len(matches) > 1:
            raise CellError(f"{len(matches)} records are titled «{item}»: name the one you mean by its id")
        if not matches and not is_id(item):
            raise CellError(f"no record has the id or title «{item}»")
        found.append(matches[0] if matches else item)
    return found


def read_csv(data: bytes, max_rows: int) -> Table:
    """The header and data rows of an uploaded file; `CsvInvalid` when it is not a CSV this can read."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvInvalid("the file is not UTF-8 text: save it as CSV UTF-8") from None
    if "\x00" in text:
        raise CsvInvalid("the file holds NUL characters: it is not a CSV text file")
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    try:
        headers = next(reader, None)
        if headers is None or not any(cell.strip() for cell in headers):
            raise CsvInvalid("the file is empty: its first line must name the columns")
        headers = [header.strip() for header in headers]
        repeated = sorted({header for header in headers if header and headers.count(header) > 1})
        if repeated:
            raise CsvInvalid(f"column names appear twice: {', '.join(repeated)}")
        rows: list[list[str]] = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # a blank line (spreadsheets add them at the end)
            if len(rows) == max_rows:
                raise CsvInvalid(f"at most {max_rows} data rows per import: split the file")
            if len(row) > len(headers):
                raise CsvInvalid(
                    f"line {reader.line_num} has {len(row)} cells but the header names {len(headers)}"
                )
            rows.append(row + [""] * (len(headers) - len(row)))
    except csv.Error as error:
        raise CsvInvalid(f"the file is not valid CSV: {error}") from None
    return Table(headers, rows)


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: len(next(csv.reader([first], delimiter=d), [])) for d in (",", ";")}
    return ";" if counts[";"] > counts[","] else ","


def to_value(spec: FieldSpec, raw: str, people: Mapping[str, str] | None = None) -> Any:
    """The value a cell means for field `spec` (None: empty). `people`: user ids by lower-cased email, so a
    person may be named by address. `CellError` when the cell cannot be of the type at all."""
    cell = unescape_cell(raw)
    if not cell.strip():
        return None
    kind = spec.type
    if kind == "number":
        return _number(cell.strip())
    if kind == "boolean":
        word = cell.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise CellError("expected true or false (yes/no, 1/0)")
    if kind == "date":
        if not is_date(cell.strip()):
            raise CellError("expected a date as YYYY-MM-DD")
        return cell.strip()
    if kind == "select":
        return _option(spec, cell.strip())
    if kind in _LIST_TYPES:
        items = [item.strip() for item in cell.split(LIST_SEPARATOR) if item.strip()]
        return [_option(spec, item) for item in items] if kind == "multiselect" else items
    if kind == "decimal":
        return cell.strip()
    if kind == "person":
        name = cell.strip()
        return (people or {}).get(name.lower(), name) if "@" in name else name
    return cell


def _number(text: str) -> int | float:
    if not _NUMBER.fullmatch(text):
        raise CellError("expected a number")
    if _INTEGER.fullmatch(text):
        whole = int(text)
        if abs(whole) > MAX_SAFE_INTEGER:
            raise CellError(f"a whole number must be between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}")
        return whole
    number = float(text)
    if not math.isfinite(number):
        raise CellError("expected a finite number")
    return int(number) if number.is_integer() and abs(number) <= MAX_SAFE_INTEGER else number


def _option(spec: FieldSpec, text: str) -> str:
    """The option `text` names, ignoring case; unknown ones are left for the schema check to name."""
    if text in spec.options:
        return text
    folded = text.casefold()
    return next((option for option in spec.options if option.casefold() == folded), text)


def to_cell(value: Any) -> str:
    """A stored value as one CSV cell (escaped against formulas)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
        return str(int(value))  # as a record's JSON shows it (collab/records/document.py `tidy`)
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, list):
        return escape_cell(LIST_JOINER.join(_plain(item) for item in value))
    return escape_cell(_plain(value))


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float) or value is None:
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def escape_cell(text: str) -> str:
    """`text` safe to open in a spreadsheet: a formula start gets a `'` in front (module docstring)."""
    if not text or _NUMBER.fullmatch(text):
        return text
    if text.startswith(FORMULA_STARTS) or (
        text[0] == "'" and len(text) > 1 and (text[1] == "'" or text[1] in FORMULA_STARTS)
    ):
        return "'" + text
    return text


def unescape_cell(text: str) -> str:
    """What `escape_cell` made `text` from: one `'` removed before a formula start or another `'`."""
    if len(text) > 1 and text[0] == "'" and (text[1] == "'" or text[1] in FORMULA_STARTS):
        return text[1:]
    return text


def csv_line(cells: Iterable[str], delimiter: str = ",") -> str:
    """One CSV line (CRLF-terminated, quoted where needed)."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerow(list(cells))
    return out.getvalue()
