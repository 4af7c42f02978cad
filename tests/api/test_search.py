"""Searching and counting assistants through HTTP, with the official SDK and raw httpx."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import Assistant

from tests.conftest import ASSISTANT_FIELDS, GRAPHS, RunningServer, serve, settings_for

NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
GRAPH_IDS = list(json.loads(GRAPHS.read_text())["graphs"])
FIELDS = ASSISTANT_FIELDS
SORT_FIELDS = ["assistant_id", "created_at", "updated_at", "name", "graph_id"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """This module's own server: on the shared one, other tests may edit the default assistants."""
    with serve(settings_for(tmp_path_factory.mktemp("search") / "graphdock.sqlite3")) as running:
        yield running


def labels(found: list[Assistant], created: dict[str, Assistant]) -> list[str]:
    by_id = {a["assistant_id"]: label for label, a in created.items()}
    return sorted(by_id.get(a["assistant_id"], f"stranger {a['name']}") for a in found)


async def create_labelled(client: LangGraphClient, tag: dict[str, str]) -> dict[str, Assistant]:
    specs: dict[str, dict[str, Any]] = {
        "alpha": {
            "graph_id": "agent",
            "name": "Über Alpha",
            "metadata": {"team": {"name": "core", "size": 3}},
        },
        "bravo": {"graph_id": "agent", "name": "bravo", "metadata": {"team": {"name": "core"}, "tier": 1.0}},
        "charlie": {"graph_id": "plain", "name": "charlie", "metadata": {"tier": 1, "tags": ["x", "y"]}},
    }
    return {
        label: await client.assistants.create(
            spec["graph_id"], name=spec["name"], metadata={**tag, **spec["metadata"]}
        )
        for label, spec in specs.items()
    }


SEARCHES = [
    pytest.param({}, "alpha bravo charlie", id="tag alone"),
    pytest.param({"graph_id": "agent"}, "alpha bravo", id="graph_id"),
    pytest.param({"name": "ÜBER"}, "alpha", id="name, case-insensitive and non-ASCII"),
    pytest.param({"name": "R"}, "alpha bravo charlie", id="name substring"),
    pytest.param({"metadata": {"team": {"name": "core"}}}, "alpha bravo", id="nested metadata"),
    pytest.param({"metadata": {"tier": 1}}, "bravo charlie", id="metadata 1 matches 1.0"),
    pytest.param({"metadata": {"tags": ["y"]}}, "charlie", id="metadata array subset"),
    pytest.param({"metadata": {"team": {"size": 4}}}, "", id="metadata matching nothing"),
    pytest.param({"graph_id": "agent", "name": "alpha", "metadata": {"team": {}}}, "alpha", id="all three"),
]


def with_tag(query: dict[str, Any], tag: dict[str, str]) -> dict[str, Any]:
    return {**query, "metadata": {**tag, **query.get("metadata", {})}}


@pytest.mark.parametrize(("query", "expected"), SEARCHES)
async def test_search_finds_exactly_the_assistants_the_filters_match(
    client: LangGraphClient, tag: dict[str, str], query: dict[str, Any], expected: str
) -> None:
    created = await create_labelled(client, tag)
    found = await client.assistants.search(**with_tag(query, tag), limit=100)
    assert labels(found, created) == expected.split(), f"search {query}"


@pytest.mark.parametrize(("query", "expected"), SEARCHES)
async def test_count_matches_what_search_finds(
    client: LangGraphClient,
    http: httpx.AsyncClient,
    tag: dict[str, str],
    query: dict[str, Any],
    expected: str,
) -> None:
    await create_labelled(client, tag)
    assert await client.assistants.count(**with_tag(query, tag)) == len(expected.split()), f"count {query}"
    r = await http.post("/assistants/count", json=with_tag(query, tag))
    assert r.status_code == 200, r.text
    assert r.json() == len(expected.split()), "count answers a bare integer"


@pytest.mark.parametrize("route", ["/assistants/search", "/assistants/count"])
async def test_filtering_by_an_unknown_graph_id_is_404_naming_the_known_graphs(
    http: httpx.AsyncClient, route: str
) -> None:
    r = await http.post(route, json={"graph_id": "no_such_graph"})
    assert r.status_code == 404, r.text
    assert "agent" in r.json()["detail"], "the 404 should name the graphs that exist"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"limit": 0}, id="limit 0"),
        pytest.param({"limit": 1001}, id="limit 1001"),
        pytest.param({"offset": -1}, id="negative offset"),
        pytest.param({"sort_by": "version"}, id="unsupported sort_by"),
        pytest.param({"sort_order": "up"}, id="unknown sort_order"),
        pytest.param({"select": ["assistant_id", "secret"]}, id="unknown select field"),
    ],
)
async def test_search_rejects_out_of_range_or_unknown_parameters_with_422(
    http: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    r = await http.post("/assistants/search", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"], "the 422 should say what is wrong"


# -- order and pages ----------------------------------------------------------------------------


def order_key(a: Assistant, field: str) -> tuple[Any, str]:
    value = a[field]  # type: ignore[literal-required]
    if field in ("created_at", "updated_at"):
        value = datetime.fromisoformat(str(value))
    return value, a["assistant_id"]


async def create_sortable(client: LangGraphClient, tag: dict[str, str]) -> list[Assistant]:
    """Five assistants whose names and graph ids repeat, updated in an order unlike their creation."""
    specs = [
        ("plain", "bravo"),
        ("agent", "alpha"),
        ("nested", "bravo"),
        ("agent", "charlie"),
        ("plain", "alpha"),
    ]
    created = [await client.assistants.create(g, name=n, metadata=tag) for g, n in specs]
    for i in (3, 0, 4):
        await client.assistants.update(created[i]["assistant_id"], metadata={"touched": True})
    return [await client.assistants.get(a["assistant_id"]) for a in created]


@pytest.mark.parametrize("sort_order", ["asc", "desc"])
@pytest.mark.parametrize("sort_by", SORT_FIELDS)
async def test_search_sorts_by_each_field_in_each_direction(
    client: LangGraphClient, tag: dict[str, str], sort_by: Any, sort_order: Any
) -> None:
    rows = await create_sortable(client, tag)
    found = await client.assistants.search(metadata=tag, sort_by=sort_by, sort_order=sort_order, limit=100)
    expected = sorted(rows, key=lambda a: order_key(a, sort_by), reverse=sort_order == "desc")
    assert [a["assistant_id"] for a in found] == [a["assistant_id"] for a in expected], (
        f"order by {sort_by} {sort_order}, ties by assistant_id in the same direction"
    )


async def test_search_defaults_to_newest_created_first(client: LangGraphClient, tag: dict[str, str]) -> None:
    rows = await create_sortable(client, tag)
    found = await client.assistants.search(metadata=tag, limit=100)
    assert [a["assistant_id"] for a in found] == [a["assistant_id"] for a in reversed(rows)]


@pytest.mark.parametrize(
    ("limit", "pages"),
    [
        pytest.param(2, [(2, "2"), (2, "4"), (1, None)], id="limit 2 of 5"),
        pytest.param(4, [(4, "4"), (1, None)], id="limit 4 of 5"),
        pytest.param(5, [(5, None)], id="one exact page"),
        pytest.param(10, [(5, None)], id="one short page"),
    ],
)
async def test_search_object_format_returns_next_until_the_last_page(
    client: LangGraphClient, tag: dict[str, str], limit: int, pages: list[tuple[int, str | None]]
) -> None:
    rows = await create_sortable(client, tag)
    seen: list[str] = []
    offset = 0
    for size, next_offset in pages:
        page = await client.assistants.search(
            metadata=tag, limit=limit, offset=offset, response_format="object"
        )
        assert (len(page["assistants"]), page["next"]) == (size, next_offset), f"page at offset {offset}"
        seen += [a["assistant_id"] for a in page["assistants"]]
        offset = int(next_offset) if next_offset is not None else -1
    assert seen == [a["assistant_id"] for a in reversed(rows)], "following `next` visits every row once"


async def test_the_pagination_header_is_absent_on_the_last_page(
    http: httpx.AsyncClient, tag: dict[str, str]
) -> None:
    for _ in range(3):
        r = await http.post("/assistants", json={"graph_id": "plain", "metadata": tag})
        assert r.status_code == 200, r.text
    first = await http.post("/assistants/search", json={"metadata": tag, "limit": 2})
    assert first.status_code == 200, first.text
    assert first.headers.get("X-Pagination-Next") == "2"
    last = await http.post("/assistants/search", json={"metadata": tag, "limit": 2, "offset": 2})
    assert last.status_code == 200, last.text
    assert len(last.json()) == 1
    assert "X-Pagination-Next" not in last.headers, "the last page must not point past itself"
    past = await http.post("/assistants/search", json={"metadata": tag, "offset": 10})
    assert (past.status_code, past.json(), past.headers.get("X-Pagination-Next")) == (200, [], None)


@pytest.mark.parametrize(
    "select",
    [
        ["assistant_id"],
        ["name", "assistant_id"],
        ["graph_id", "metadata", "version"],
        pytest.param(FIELDS, id="every field"),
    ],
)
async def test_select_returns_only_the_selected_fields(
    client: LangGraphClient, tag: dict[str, str], select: list[Any]
) -> None:
    full = await create_labelled(client, tag)
    found = await client.assistants.search(metadata=tag, select=select, limit=100)
    assert len(found) == len(full)
    by_id = {a["assistant_id"]: a for a in full.values()}
    for row in found:
        assert set(row) == set(select), f"select {select} returned {sorted(row)}"
    if "assistant_id" in select:
        for row in found:
            expected = {k: v for k, v in by_id[row["assistant_id"]].items() if k in select}
            assert row == expected, "selected fields must carry the same values as the full object"


# -- what search sees -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("create", "patch", "v1_only", "v2_only"),
    [
        pytest.param(
            {"metadata": {"stage": "v1"}},
            {"metadata": {"stage": "v2"}},
            {"metadata": {"stage": "v1"}},
            {"metadata": {"stage": "v2"}},
            id="metadata",
        ),
        pytest.param(
            {"metadata": {"flag": True}},
            {"metadata": {"flag": 1}},
            {"metadata": {"flag": True}},
            {"metadata": {"flag": 1}},
            id="metadata true to 1",
        ),
        pytest.param(
            {"name": "first name"}, {"name": "second name"}, {"name": "first"}, {"name": "second"}, id="name"
        ),
        pytest.param(
            {"graph_id": "plain"},
            {"graph_id": "nested"},
            {"graph_id": "plain"},
            {"graph_id": "nested"},
            id="graph_id",
        ),
    ],
)
async def test_search_and_count_see_only_the_active_version(
    client: LangGraphClient,
    tag: dict[str, str],
    create: dict[str, Any],
    patch: dict[str, Any],
    v1_only: dict[str, Any],
    v2_only: dict[str, Any],
) -> None:
    fields = {k: v for k, v in create.items() if k != "graph_id"}
    a = await client.assistants.create(create.get("graph_id", "plain"), **with_tag(fields, tag))
    await client.assistants.update(a["assistant_id"], **patch)

    async def found(query: dict[str, Any]) -> list[str]:
        hits = [x["assistant_id"] for x in await client.assistants.search(**with_tag(query, tag))]
        assert await client.assistants.count(**with_tag(query, tag)) == len(hits), (
            "count disagrees with search"
        )
        return hits

    assert (await found(v1_only), await found(v2_only)) == ([], [a["assistant_id"]]), "after the update"
    await client.assistants.set_latest(a["assistant_id"], 1)
    assert (await found(v1_only), await found(v2_only)) == ([a["assistant_id"]], []), "after set_latest to v1"


# -- default assistants -----------------------------------------------------------------------------


async def test_one_default_assistant_per_graph_is_found_by_created_by_system(client: LangGraphClient) -> None:
    found = await client.assistants.search(metadata={"created_by": "system"}, limit=1000)
    assert sorted(a["graph_id"] for a in found) == sorted(GRAPH_IDS)
    assert await client.assistants.count(metadata={"created_by": "system"}) == len(GRAPH_IDS)


@pytest.mark.parametrize("graph_id", GRAPH_IDS)
async def test_each_default_assistant_has_the_uuid5_id_and_the_graph_id_as_name(
    client: LangGraphClient, graph_id: str
) -> None:
    found = await client.assistants.search(metadata={"created_by": "system"}, graph_id=graph_id)
    assert len(found) == 1, f"default assistants of {graph_id}: {found}"
    (a,) = found
    assert a["assistant_id"] == str(uuid.uuid5(NAMESPACE, graph_id))
    assert (a["name"], a["graph_id"], a["version"]) == (graph_id, graph_id, 1)
    assert (a["metadata"], a["config"]) == ({"created_by": "system"}, {})
    description = json.loads(GRAPHS.read_text())["graphs"][graph_id]
    expected = description.get("description") if isinstance(description, dict) else None
    assert a["description"] == expected, "the description comes from langgraph.json"
    found_by_name = await client.assistants.search(
        metadata={"created_by": "system"}, name=graph_id, limit=100
    )
    assert a["assistant_id"] in [x["assistant_id"] for x in found_by_name]
