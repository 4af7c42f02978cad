"""Crons through the official SDK: create, search, count, update, delete, bad input, and firing.

Firing is watched as a user would: the runs a cron made on its thread, the threads a stateless
cron kept, and the webhook a stateless cron's run POSTs when it ends. A cron fires within its
minute; the tests poll with generous deadlines (the scheduler ticks every second here).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError, UnprocessableEntityError

from tests.conftest import GRAPHS, RunningServer
from tests.runs.receiver import receiver
from tests.runs.waiting import new_thread

WEBHOOKS = GRAPHS.with_name("langgraph.webhooks.json")
# Never due while a test runs (midnight on January 1st).
YEARLY = "0 0 1 1 *"


async def test_crons_are_created_read_searched_counted_updated_and_deleted(
    client: LangGraphClient, http: httpx.AsyncClient, tag: dict[str, str]
) -> None:
    assistant = await client.assistants.create("echo", metadata=tag)
    aid = assistant["assistant_id"]
    tid = await new_thread(client)
    stateless = await client.crons.create(aid, schedule=YEARLY, input={"text": "a"}, metadata=tag)
    assert stateless["assistant_id"] == aid
    assert stateless["thread_id"] is None
    assert stateless["on_run_completed"] == "delete"
    assert stateless["enabled"] is True
    assert stateless["payload"]["input"] == {"text": "a"}
    assert stateless["next_run_date"].startswith(f"{datetime.now(UTC).year + 1}-01-01T00:00:00")
    on_thread = await client.crons.create_for_thread(
        tid, aid, schedule="30 9 * * 1-5", timezone="Europe/Paris", enabled=False, metadata=tag
    )
    assert on_thread["thread_id"] == tid
    assert on_thread["on_run_completed"] is None
    assert on_thread["timezone"] == "Europe/Paris"
    # 09:30 in Paris is 07:30 or 08:30 UTC, depending on the season.
    assert on_thread["next_run_date"][11:16] in ("07:30", "08:30")

    got = (await http.get(f"/runs/crons/{stateless['cron_id']}")).json()
    assert got == stateless

    assert {c["cron_id"] for c in await client.crons.search(assistant_id=aid)} == {
        stateless["cron_id"],
        on_thread["cron_id"],
    }
    assert [c["cron_id"] for c in await client.crons.search(thread_id=tid)] == [on_thread["cron_id"]]
    assert [c["cron_id"] for c in await client.crons.search(assistant_id=aid, enabled=False)] == [
        on_thread["cron_id"]
    ]
    assert await client.crons.search(
        assistant_id=aid, select=["cron_id", "enabled"], sort_by="cron_id", sort_order="asc"
    ) == sorted(
        [{"cron_id": c["cron_id"], "enabled": c["enabled"]} for c in (stateless, on_thread)],
        key=lambda c: c["cron_id"],
    )
    page = await client.crons.search(
        assistant_id=aid, limit=1, offset=1, sort_by="created_at", sort_order="asc"
    )
    assert [c["cron_id"] for c in page] == [on_thread["cron_id"]]
    assert await client.crons.count(assistant_id=aid) == 2
    assert await client.crons.count(thread_id=tid) == 1
    assert await client.crons.count(metadata=tag) == 2

    updated = await client.crons.update(
        stateless["cron_id"],
        schedule="15 * * * *",
        enabled=False,
        input={"text": "b"},
        on_run_completed="keep",
    )
    assert updated["schedule"] == "15 * * * *"
    assert updated["enabled"] is False
    assert updated["on_run_completed"] == "keep"
    assert updated["payload"]["input"] == {"text": "b"}
    assert updated["next_run_date"][14:16] == "15"
    assert updated["updated_at"] > stateless["updated_at"]
    ending = datetime.now(UTC) + timedelta(days=3)
    assert (await client.crons.update(stateless["cron_id"], end_time=ending))["end_time"] is not None
    assert (await client.crons.update(stateless["cron_id"], end_time=None))["end_time"] is None

    await client.crons.delete(stateless["cron_id"])
    assert (await http.get(f"/runs/crons/{stateless['cron_id']}")).status_code == 404
    with pytest.raises(NotFoundError):
        await client.crons.delete(stateless["cron_id"])
    assert await client.crons.count(assistant_id=aid) == 1


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"schedule": "every minute"}, "schedule"),
        ({"schedule": "* * * * * *"}, "five fields"),
        ({"schedule": "61 * * * *"}, "schedule"),
        ({"schedule": "* * * * *", "timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"schedule": "* * * * *", "end_time": "2001-01-01T00:00:00+00:00"}, "end_time"),
        # The default policy refuses loopback webhooks.
        ({"schedule": "* * * * *", "webhook": "http://127.0.0.1:9/hook"}, "loopback"),
        ({"schedule": "* * * * *", "webhook": "http://localhost:9/hook"}, "loopback"),
        ({"schedule": "* * * * *", "webhook": "http://169.254.169.254/latest"}, "blocked"),
        ({"schedule": "* * * * *", "webhook": "ftp://example.com/hook"}, "http"),
        ({"schedule": "* * * * *", "assistant_id": "not-a-graph"}, "assistant_id"),
        ({"assistant_id": "echo"}, "schedule"),
        # Its runs could never start: refused now, not at every firing.
        ({"assistant_id": "agent", "schedule": "* * * * *"}, "context"),
    ],
)
async def test_a_bad_cron_is_422_naming_what_is_wrong_and_nothing_is_stored(
    http: httpx.AsyncClient, tag: dict[str, str], fields: dict[str, Any], named: str
) -> None:
    body = {"assistant_id": "echo", "metadata": tag, **fields}
    r = await http.post("/runs/crons", json=body)
    assert r.status_code == 422, r.text
    assert named in r.json()["detail"]
    assert (await http.post("/runs/crons/count", json={"metadata": tag})).json() == 0


async def test_unknown_ids_are_404_and_malformed_ones_422(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    missing = "00000000-0000-4000-8000-000000000404"
    r = await http.post("/runs/crons", json={"assistant_id": missing, "schedule": YEARLY})
    assert r.status_code == 404, r.text
    r = await http.post("/runs/crons", json={"assistant_id": "echo@7", "schedule": YEARLY})
    assert r.status_code == 404, r.text
    assert "Version 7" in r.json()["detail"]
    r = await http.post(f"/threads/{missing}/runs/crons", json={"assistant_id": "echo", "schedule": YEARLY})
    assert r.status_code == 404, r.text
    for method in ("GET", "DELETE"):
        assert (await http.request(method, f"/runs/crons/{missing}")).status_code == 404
        assert (await http.request(method, "/runs/crons/nope")).status_code == 422
    assert (await http.patch(f"/runs/crons/{missing}", json={"enabled": False})).status_code == 404
    cron = await client.crons.create("echo", schedule=YEARLY)
    r = await http.patch(f"/runs/crons/{cron['cron_id']}", json={})
    assert r.status_code == 422, r.text
    with pytest.raises(UnprocessableEntityError):
        await client.crons.update(cron["cron_id"], schedule="whenever")
    await client.crons.delete(cron["cron_id"])


async def test_crons_go_with_their_assistant_and_their_thread(
    client: LangGraphClient, tag: dict[str, str]
) -> None:
    gone = await client.assistants.create("echo", metadata=tag)
    kept = await client.assistants.create("echo", metadata=tag)
    tid = await new_thread(client)
    await client.crons.create(gone["assistant_id"], schedule=YEARLY)
    await client.crons.create_for_thread(tid, gone["assistant_id"], schedule=YEARLY)
    await client.crons.create_for_thread(tid, kept["assistant_id"], schedule=YEARLY)
    survivor = await client.crons.create(kept["assistant_id"], schedule=YEARLY)
    await client.assistants.delete(gone["assistant_id"])
    assert await client.crons.count(assistant_id=gone["assistant_id"]) == 0
    assert await client.crons.count(thread_id=tid) == 1
    await client.threads.delete(tid)
    assert await client.crons.count(thread_id=tid) == 0
    assert [c["cron_id"] for c in await client.crons.search(assistant_id=kept["assistant_id"])] == [
        survivor["cron_id"]
    ]


async def _until(check: Callable[[], Any], seconds: float = 150) -> Any:
    """check()'s first truthy answer, polled; a cron fires within its minute, the deadline is generous."""
    deadline = time.monotonic() + seconds
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, "not within the deadline"
        await asyncio.sleep(0.2)


async def test_stateless_and_thread_crons_fire_within_their_minute(
    start_server: Callable[..., RunningServer],
) -> None:
    server = start_server(WEBHOOKS, cron_tick_seconds=1)
    client = get_client(url=server.url)
    with receiver() as hooks:
        assistant = await client.assistants.create("echo")
        aid = assistant["assistant_id"]
        tid = await new_thread(client)
        on_thread = await client.crons.create_for_thread(tid, aid, schedule="* * * * *", input={"text": "t"})
        kept = await client.crons.create(
            aid, schedule="* * * * *", input={"text": "k"}, on_run_completed="keep", metadata={"kind": "kept"}
        )
        deleted = await client.crons.create(
            aid, schedule="* * * * *", input={"text": "d"}, webhook=f"{hooks.url}/stateless"
        )
        # Pinned to version 1, with run fields of its own: its run keeps them and that version.
        pinned = await client.crons.create(
            f"{aid}@1",
            schedule="* * * * *",
            input={"text": "pinned"},
            on_run_completed="keep",
            metadata={"kind": "pinned"},
            config={"tags": ["from-a-cron"]},
            stream_mode=["values", "updates"],
        )
        paused = await client.crons.create_for_thread(tid, aid, schedule="* * * * *", input={"text": "p"})
        await client.crons.update(paused["cron_id"], enabled=False)
        # Made after the crons: each firing resolves the version active when its run starts.
        await client.assistants.update(aid, metadata={"v": 2})

        async def thread_runs() -> list[Any]:
            return [r for r in await client.runs.list(tid) if r["metadata"].get("cron_id")]

        async def thread_runs_ended() -> list[Any]:
            # The version is recorded when a run is claimed: look once the first one has ended.
            runs = await thread_runs()
            return runs if runs and runs[0]["status"] == "success" else []

        runs = await _until(thread_runs_ended)
        assert runs[0]["metadata"]["cron_id"] == on_thread["cron_id"]
        assert runs[0]["assistant_version"] == 2
        assert runs[0]["kwargs"]["input"] == {"text": "t"}
        # graphdock's own: the cron's history, each run with the assistant version it ran.
        async with httpx.AsyncClient(base_url=server.url) as http:
            history = (await http.get(f"/runs/crons/{on_thread['cron_id']}/runs")).json()
            assert [r["run_id"] for r in history] == [r["run_id"] for r in await thread_runs()]
            assert {r["assistant_version"] for r in history} <= {2, None}  # None: not started yet
            assert (await http.get(f"/runs/crons/{paused['cron_id']}/runs")).json() == []

        async def kept_threads() -> list[Any]:
            found = await client.threads.search(metadata={"assistant_id": aid}, limit=100)
            return [t for t in found if t["thread_id"] != tid and t["values"]]

        async def kept_runs() -> dict[str, Any]:
            found = [(await client.runs.list(t["thread_id"]))[0] for t in await kept_threads()]
            by_kind = {r["metadata"]["kind"]: r for r in found}
            return by_kind if len(by_kind) == 2 else {}

        by_kind = await _until(kept_runs)
        kept_run = by_kind["kept"]
        assert kept_run["metadata"]["cron_id"] == kept["cron_id"]
        assert (await client.threads.get(kept_run["thread_id"]))["values"] == {"text": "k", "steps": ["echo"]}
        assert kept_run["assistant_version"] == 2
        pinned_run = by_kind["pinned"]
        assert pinned_run["metadata"]["cron_id"] == pinned["cron_id"]
        assert pinned_run["assistant_version"] == 1  # the pinned version, though 2 is active
        assert pinned_run["kwargs"]["input"] == {"text": "pinned"}
        assert "from-a-cron" in pinned_run["kwargs"]["config"]["tags"]
        assert pinned_run["kwargs"]["stream_mode"] == ["values", "updates"]
        assert (await client.threads.get(pinned_run["thread_id"]))["values"] == {
            "text": "pinned",
            "steps": ["echo"],
        }

        delivery = (await hooks.until("/stateless", seconds=150))[0]
        assert delivery.body["metadata"]["cron_id"] == deleted["cron_id"]
        assert delivery.body["status"] == "success"
        assert delivery.body["values"] == {"text": "d", "steps": ["echo"]}

        # on_run_completed=delete (the default): the run's thread is gone once it ended.
        async def thread_gone() -> bool:
            try:
                await client.threads.get(delivery.body["thread_id"])
            except NotFoundError:
                return True
            return False

        assert await _until(thread_gone, seconds=30)

        moved = await client.crons.search(thread_id=tid, enabled=True)
        assert moved[0]["next_run_date"] > on_thread["next_run_date"]
        # The paused cron made nothing, though every other cron fired in the same minute.
        assert all(r["metadata"]["cron_id"] != paused["cron_id"] for r in await client.runs.list(tid))
    await client.aclose()


def _set_due(url: str, cron_id: str, when: str) -> None:
    """What a server that was down for a while finds: a firing due long ago (written to the row)."""
    if url.startswith("sqlite:"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute("UPDATE crons SET next_run_date = ? WHERE cron_id = ?", (when, cron_id))
    else:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("UPDATE crons SET next_run_date = %s WHERE cron_id = %s", (when, cron_id))


async def test_a_server_that_was_down_makes_one_catch_up_run_not_one_per_missed_firing(
    start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    db = tmp_path / "down.sqlite3"
    first = start_server(db=db, cron_tick_seconds=1)
    client = get_client(url=first.url)
    tid = await new_thread(client)
    cron = await client.crons.create_for_thread(tid, "echo", schedule="* * * * *", input={"text": "late"})
    await client.aclose()
    first.stop()
    # Down for ten minutes: ten firings missed.
    missed = (datetime.now(UTC) - timedelta(minutes=10)).isoformat(timespec="microseconds")
    _set_due(str(first.settings.database_url), cron["cron_id"], missed)

    restarted = datetime.now(UTC)
    client = get_client(url=start_server(db=db, cron_tick_seconds=1).url)

    async def cron_runs() -> list[Any]:
        return [r for r in await client.runs.list(tid, limit=100) if r["metadata"].get("cron_id")]

    await _until(cron_runs, seconds=60)
    now = (await client.crons.search(thread_id=tid))[0]
    assert now["next_run_date"] > restarted.isoformat()  # counted from now, not from the missed date
    # One run for the ten missed firings, made before the next minute mark (later ones are regular).
    mark = restarted.replace(second=0, microsecond=0) + timedelta(minutes=1)
    caught_up = [r for r in await cron_runs() if datetime.fromisoformat(r["created_at"]) < mark]
    assert len(caught_up) == 1
    await client.aclose()
