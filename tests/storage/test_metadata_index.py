"""The metadata index never hides a match: whenever `target @> query`, the query's index entries
are among the target's; for array-free queries the converse holds, so no exact test is needed."""

from __future__ import annotations

import json

import pytest

from graphdock.storage.containment import contains, index_entries, needs_exact_check, query_entries
from tests.storage.test_contract import JSONB_CONTAINS

OBJECT_CASES = [
    (json.loads(target), json.loads(query), expected)
    for target, query, expected in JSONB_CONTAINS
    if target.startswith("{") and query.startswith("{")
]


@pytest.mark.parametrize(("target", "query", "expected"), OBJECT_CASES)
def test_a_containing_document_has_every_entry_the_query_looks_up(
    target: dict, query: dict, expected: bool
) -> None:
    assert contains(target, query) is expected
    found = query_entries(query) <= index_entries(target)
    if expected:
        assert found, "the index would hide a match"
    if not needs_exact_check(query):
        assert found is expected, "without arrays, the index alone must decide"


def test_nested_values_are_indexed_by_path_and_arrays_by_element() -> None:
    entries = index_entries({"team": {"id": 3, "tags": ["a", 1.0]}, "on": True})
    assert ('["team","id"]', "3") in entries
    assert ('["team","tags","[]"]', '"a"') in entries
    assert ('["team","tags","[]"]', "1") in entries, "1.0 is indexed as 1, as jsonb compares them"
    assert ('["on"]', "true") in entries
    assert query_entries({"team": {"id": 3}}) == {('["team","id"]', "3")}, "a leaf implies its container"
    assert query_entries({"team": {}}) == {('["team"]', "{")}
