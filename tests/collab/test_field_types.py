"""The new field types' rules (collab/records/field_types.py, decimals.py), their definitions and schema
edits (schema.py, schema_change.py), the unique keys (uniqueness.py) and live corrections of them
(correction.py): pure logic, in the unit layer."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
from pycrdt import Doc

from collab.errors import SchemaError
from collab.records import decimals
from collab.records.correction import correct
from collab.records.document import fields_map, read_fields, write_fields
from collab.records.schema import (
    FieldSpec,
    check_not_archived,
    check_required,
    check_values,
    parse_collection,
    parse_field,
    specs_from_json,
)
from collab.records.schema_change import parse_change
from collab.records.uniqueness import key_of, keys_of
from persistence.record_values import item_fields, rows_of

pytestmark = pytest.mark.unit

ID_A, ID_B = "a" * 32, "b" * 32
SPECS = [
    FieldSpec("name", "Name", "text", required=True, unique=True),
    FieldSpec("email", "Email", "email", unique=True),
    FieldSpec("site", "Site", "url"),
    FieldSpec("phone", "Phone", "phone"),
    FieldSpec("tags", "Tags", "multiselect", ("red", "green", "blue")),
    FieldSpec("rate", "Rate", "decimal", scale=2),
    FieldSpec("owner", "Owner", "person"),
    FieldSpec("project", "Project", "link", target="projects"),
    FieldSpec("team", "Team", "link", target="projects", many=True),
    FieldSpec("old", "Old", "text", archived=True),
]


def problems(values: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SchemaError) as raised:
        check_values(SPECS, values)
    return raised.value.errors


def test_decimals_are_canonical_strings_and_never_floats() -> None:
    assert decimals.canonical("6000", 2) == "6000.00"
    assert decimals.canonical(6000, 2) == "6000.00"
    assert decimals.canonical("-0.5", 2) == "-0.50"
    assert decimals.canonical("-0.00", 2) == "0.00"
    assert decimals.canonical("12.500", 2) == "12.50"  # trailing zeros are no extra digits
    assert decimals.canonical("7", 0) == "7"
    assert decimals.canonical("123456789012.345678", 6) == "123456789012.345678"
    for bad, why in [
        (12.5, "strings"),
        ("1e5", "no exponent"),
        ("1.234", "at most 2"),
        (True, "string"),
        ("1234567890123456789", "18 significant"),
        ("", "digits"),
        ("1,5", "digits"),
        (None, "string"),
    ]:
        with pytest.raises(decimals.DecimalProblem, match=why):
            decimals.canonical(bad, 2)
    assert check_values(SPECS, {"rate": 6000}) == {"rate": "6000.00"}
    assert "strings" in problems({"rate": 6000.5})["rate"]


def test_decimal_sort_keys_order_exactly_like_the_numbers() -> None:
    rng = random.Random(16)
    values = ["0", "-0.000001", "0.000001", "999999999999999999", "-999999999999999999", "0.1", "0.10"]
    for _ in range(2000):
        scale = rng.randint(0, 6)
        digits = rng.randint(1, 18 - scale)
        number = Decimal(rng.randint(-(10**digits), 10**digits)).scaleb(-scale)
        values.append(decimals.canonical(f"{number:f}", scale))
    keys = {value: decimals.sort_key(value) for value in values}
    assert all(key is not None for key in keys.values())
    assert sorted(values, key=lambda v: (Decimal(v), v)) == sorted(values, key=lambda v: (keys[v], v))
    assert keys["0.1"] == keys["0.10"]
    # 18 significant digits stay apart, which a double cannot do.
    assert decimals.sort_key("12345678901234567.8") != decimals.sort_key("12345678901234567.9")
    assert decimals.sort_key("not 1") is None and decimals.sort_key("1e5") is None


def test_decimal_filter_bounds_round_inward_exactly() -> None:
    def passes_gte(value: str, bound: str) -> bool:
        return decimals.sort_key(value) >= decimals.bound_key(Decimal(bound), upper=False)  # type: ignore[operator]

    def passes_lte(value: str, bound: str) -> bool:
        return decimals.sort_key(value) <= decimals.bound_key(Decimal(bound), upper=True)  # type: ignore[operator]

    assert passes_gte("1.000001", "1.0000005") and not passes_gte("1.000000", "1.0000005")
    assert passes_lte("-2.50", "-2.5") and not passes_lte("-2.49", "-2.5")
    assert passes_gte("-999999999999999999", "-1e30") and passes_lte("999999999999999999", "1e30")
    assert decimals.key_decimal(decimals.bound_key(Decimal("-2.5"), True)) == Decimal("-2.5")


def test_email_url_and_phone_values() -> None:
    good = {
        "email": " ada@example.com ",
        "site": "https://example.com/a?b=c",
        "phone": "+44 (20) 7946-0958",
    }
    assert check_values(SPECS, good) == {
        "email": "ada@example.com",
        "site": "https://example.com/a?b=c",
        "phone": "+44 (20) 7946-0958",
    }
    for key, bad in [
        ("email", "ada@"),
        ("email", "ada@example"),
        ("email", "a b@example.com"),
        ("email", "x" * 250 + "@example.com"),
        ("site", "javascript:alert(1)"),
        ("site", "data:text/html,<script>alert(1)</script>"),
        ("site", "/relative/path"),
        ("site", "http://"),
        ("site", "https://exa mple.com"),
        ("phone", "123456"),  # 6 digits
        ("phone", "1" * 21),
        ("phone", "12-34-56-78 ext 9"),
        ("phone", "12+3456789"),
        ("email", 5),
    ]:
        assert key in problems({key: bad}), (key, bad)


def test_multiselect_person_and_link_values() -> None:
    assert check_values(SPECS, {"tags": ["red", "blue"], "owner": ID_A, "team": [ID_A, ID_B]}) == {
        "tags": ["red", "blue"],
        "owner": ID_A,
        "team": [ID_A, ID_B],
    }
    assert set(problems({"tags": ["red", "red"]})) == {"tags"}
    assert set(problems({"tags": ["pink"]})) == {"tags"}
    assert set(problems({"tags": "red"})) == {"tags"}
    assert set(problems({"owner": "someone"})) == {"owner"}
    assert set(problems({"project": [ID_A, ID_B]})) == {"project"}  # not many: at most one
    assert set(problems({"project": ID_A})) == {"project"}  # always a list
    assert set(problems({"team": [ID_A] * 2})) == {"team"}
    assert set(problems({"team": [f"{n:032x}" for n in range(101)]})) == {"team"}


def test_required_and_archived() -> None:
    with pytest.raises(SchemaError) as raised:
        check_required(SPECS, {"email": "a@example.com"}, creating=True)
    assert raised.value.errors == {"name": "required"}
    for empty in (None, "", "  "):
        with pytest.raises(SchemaError):
            check_required(SPECS, {"name": empty}, creating=False)
    check_required(SPECS, {"email": None}, creating=False)  # an edit that leaves `name` alone
    with pytest.raises(SchemaError) as archived:
        check_not_archived(SPECS, {"old": "x"})
    assert archived.value.errors == {"old": "archived"}


def test_definitions_round_trip_and_refuse_what_does_not_fit() -> None:
    _, _, specs = parse_collection({"name": "people", "fields": [spec.as_json() for spec in SPECS]})
    assert specs == SPECS
    assert specs_from_json([spec.as_json() for spec in specs]) == SPECS
    # Collections defined before these options read back unchanged (nothing new is stored for them).
    assert FieldSpec("name", "Name", "text").as_json() == {"key": "name", "label": "Name", "type": "text"}
    assert parse_field({"key": "amount", "type": "decimal"}).scale == 2
    for raw, why in [
        ({"key": "a", "type": "decimal", "scale": 7}, "scale"),
        ({"key": "a", "type": "link"}, "target"),
        ({"key": "a", "type": "multiselect", "options": []}, "options"),
        ({"key": "a", "type": "multiselect", "options": ["x", "x"]}, "options"),
        ({"key": "a", "type": "boolean", "unique": True}, "unique"),
        ({"key": "a", "type": "text", "required": "yes"}, "required"),
        ({"key": "a" * 61, "type": "multiselect", "options": ["x"]}, "60"),
    ]:
        with pytest.raises(ValueError, match=why):
            parse_field(raw)


def test_schema_changes_keep_keys_types_and_targets() -> None:
    change = [spec.as_json() for spec in SPECS]
    change[0]["label"] = "Full name"
    change.reverse()
    change.append({"key": "notes", "type": "richtext", "label": "Notes"})
    label, specs = parse_change(SPECS, {"label": "People", "fields": change})
    assert label == "People" and specs[0].key == "old" and specs[-1].key == "notes"
    assert next(spec for spec in specs if spec.key == "name").label == "Full name"

    def refused(fields: list[dict[str, Any]]) -> str:
        with pytest.raises(SchemaError) as raised:
            parse_change(SPECS, {"fields": fields})
        return " ".join(raised.value.errors.values())

    base = [spec.as_json() for spec in SPECS]
    assert "archive them" in refused(base[1:])
    assert "type" in refused([{**base[0], "type": "email"}, *base[1:]])
    assert "target" in refused([*base[:7], {**base[7], "target": "other"}, *base[8:]])
    assert "scale" in refused([*base[:5], {**base[5], "scale": 3}, *base[6:]])
    made_unique = parse_change(SPECS, {"fields": [base[0], base[1], {**base[2], "unique": True}, *base[3:]]})
    assert made_unique[1][2].unique  # allowed when the stored values are all different (the caller checks)
    assert parse_change(SPECS, {"fields": [{**base[0], "unique": False}, *base[1:]]})[1][0].unique is False


def test_unique_keys_compare_trimmed_case_folded_text_and_numbers_as_numbers() -> None:
    text, number = FieldSpec("n", "N", "text", unique=True), FieldSpec("x", "X", "number", unique=True)
    assert key_of(text, " Vehicle #50 ") == key_of(text, "vehicle #50")
    assert key_of(text, "   ") is None and key_of(text, None) is None
    assert key_of(number, 5) == key_of(number, 5.0) and key_of(number, 5.5) != key_of(number, 5)
    assert len(key_of(text, "x" * 5000) or "") <= 200
    assert keys_of(SPECS, {"name": "Ada", "email": "A@example.com", "site": "x"}) == (
        ("name", "ada"),
        ("email", "a@example.com"),
    )


def test_a_list_of_items_gets_a_row_per_item_and_a_decimal_its_sort_key() -> None:
    rows = list(rows_of({"tags": ["red", "Blue", "red"], "rate": "12.50", "name": "Ada"}))
    items = {row[0]: row[2] for row in rows if row[0].startswith("tags#")}
    assert items == {"tags#0": "red", "tags#1": "blue"}
    assert set(items) <= set(item_fields("tags"))
    assert next(row[6] for row in rows if row[0] == "rate") == decimals.sort_key("12.50")
    assert next(row[6] for row in rows if row[0] == "name") is None


def live_edit(
    values: dict[str, Any], specs: list[FieldSpec] = SPECS
) -> tuple[dict[str, Any], dict[str, str]]:
    """Apply `values` as a live client would (straight into the document), then correct them."""
    doc: Doc = Doc()
    write_fields(doc, specs, {"name": "Ada", "rate": "1.00"})
    before = {key: read_fields(doc).get(key) for key in values}
    target = fields_map(doc)
    with doc.transaction():
        for key, value in values.items():
            if value is None:
                del target[key]
            else:
                target[key] = value
    _, reasons = correct(doc, specs, before)
    return read_fields(doc), reasons


def test_live_values_are_put_in_their_stored_form_or_back() -> None:
    fields, reasons = live_edit({"rate": 6000})  # a JavaScript number: made a canonical string
    assert fields["rate"] == "6000.00" and reasons == {}
    fields, reasons = live_edit({"rate": 12.345})
    assert fields["rate"] == "1.00" and "rate" in reasons
    fields, reasons = live_edit({"site": "javascript:alert(1)", "tags": ["red", "red"]})
    assert "site" not in fields and "tags" not in fields and set(reasons) == {"site", "tags"}
    fields, reasons = live_edit({"name": None})  # required: the value is put back
    assert fields["name"] == "Ada" and "required" in reasons["name"]
    fields, reasons = live_edit({"name": ""})
    assert fields["name"] == "Ada" and "name" in reasons
    fields, reasons = live_edit({"email": " ada@example.com"})
    assert fields["email"] == "ada@example.com" and reasons == {}
