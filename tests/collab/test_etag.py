"""Entity tags of record content (collab/ycodec/etag.py): they follow content, deletions included, and
nothing else; `If-Match` as RFC 9110 reads it."""

from __future__ import annotations

import pytest
from pycrdt import Doc, Map

from collab.ycodec.etag import etag_of, if_match_holds

pytestmark = pytest.mark.unit


def fields(doc: Doc) -> Map:
    return doc.get("fields", type=Map)


def test_a_tag_is_strong_and_quoted() -> None:
    tag = etag_of(Doc())
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")
    assert len(tag) == 32 + 2


def test_every_change_deletions_too_changes_the_tag() -> None:
    doc = Doc()
    seen = {etag_of(doc)}
    fields(doc)["name"] = "Panda"
    seen.add(etag_of(doc))
    fields(doc)["name"] = "Koala"  # overwriting deletes the old item: the state vector alone misses it
    seen.add(etag_of(doc))
    del fields(doc)["name"]
    seen.add(etag_of(doc))
    assert len(seen) == 4


def test_the_same_content_loaded_again_has_the_same_tag() -> None:
    doc = Doc()
    for n in range(5):
        fields(doc)["revenue"] = n  # four deletions, stored as ranges yrs may split or order differently
    copy = Doc()
    copy.apply_update(doc.get_update())
    assert etag_of(copy) == etag_of(doc)
    # Updates applied one by one make the same content too.
    stepwise, state = Doc(), b"\x00"
    other = Doc()
    for n in range(3):
        fields(other)[f"k{n}"] = n
        stepwise.apply_update(other.get_update(state))
        state = stepwise.get_state()
    whole = Doc()
    whole.apply_update(other.get_update())
    assert etag_of(stepwise) == etag_of(whole)


@pytest.mark.parametrize(
    ("header", "holds"),
    [
        ('"abc"', True),
        ("*", True),
        (" * ", True),
        ('"other", "abc"', True),
        ('"other"', False),
        ('W/"abc"', False),  # weak tags never match a strong comparison
        ('"a,b", "abc"', True),  # a comma inside quotes separates nothing
        ("", False),
        ('"abc', False),
    ],
)
def test_if_match(header: str, holds: bool) -> None:
    assert if_match_holds(header, '"abc"') is holds


def test_a_quoted_comma_is_part_of_the_tag() -> None:
    assert if_match_holds('"x", "a,b"', '"a,b"')
