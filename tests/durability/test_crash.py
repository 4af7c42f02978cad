"""SIGKILL `graphdock serve` while eight clients write assistants, restart it on the same database,
and compare storage (its rows, and the API) with what the clients were told: every acknowledged
write is there, a write whose answer was lost is wholly there or wholly absent, every active row
is a copy of its active version, and version numbers are never given twice.

The seed fixes the clients' choices and the moments of the kills; `GRAPHDOCK_CRASH_SEED=<seed>`
replays a failing schedule (how far each client got before a kill still depends on timing).
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.durability import rows
from tests.durability.model import (
    Contended,
    Model,
    Snapshot,
    Stored,
    Write,
    activated,
    created,
    patched,
    without_version,
)
from tests.postgres import database_for
from tests.processes import ServerProcess, start

CLIENTS = 8
KILLS = 4
SEED_VARIABLE = "GRAPHDOCK_CRASH_SEED"
# The assistant every client PATCHes, as created.
CONTENDED = Snapshot.written_by("contended", -1, 0)


@dataclass
class Client:
    """One client: it writes only its own assistants (so the model knows their exact state),
    plus PATCHes of the contended assistant that every client shares."""

    index: int
    rng: random.Random
    ids: list[str] = field(default_factory=list)
    count: int = 0
    problems: list[str] = field(default_factory=list)

    def next_write(self, model: Model, contended: str) -> Write:
        self.count += 1
        op = f"c{self.index}-{self.count}"
        snapshot = Snapshot.written_by(op, self.index, self.count)
        live = [aid for aid in self.ids if model.expected.get(aid) is not None]
        roll = self.rng.random()
        if len(live) < 2 or roll < 0.12:
            aid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            self.ids.append(aid)
            body = {"assistant_id": aid, "graph_id": snapshot.graph_id, **snapshot.body()}
            return Write(aid, "POST", "/assistants", body, None, created(snapshot), snapshot)
        if roll < 0.24:  # the contended assistant's state is not modelled: `after` stays unknown
            # Metadata and name only (an Edit: one statement on PostgreSQL), so the config and
            # context stay those it was created with; the metadata's keys are always the same two.
            edit = {"metadata": snapshot.metadata, "name": snapshot.name}
            stored = replace(snapshot, config=CONTENDED.config, context=CONTENDED.context)
            return Write(contended, "PATCH", f"/assistants/{contended}", edit, None, None, stored)
        aid = self.rng.choice(live)
        before = model.expected[aid]
        assert before is not None
        older = [n for n in before.versions if n != before.active]
        if roll < 0.6 or (roll < 0.85 and not older):
            after = patched(before, snapshot)
            return Write(aid, "PATCH", f"/assistants/{aid}", snapshot.body(), before, after, snapshot)
        if roll < 0.75:
            number = self.rng.choice(older)
            after = activated(before, number)
            return Write(aid, "POST", f"/assistants/{aid}/latest", {"version": number}, before, after)
        if roll < 0.85:
            number = self.rng.choice(older)
            after = without_version(before, number)
            return Write(aid, "DELETE", f"/assistants/{aid}/versions/{number}", None, before, after)
        return Write(aid, "DELETE", f"/assistants/{aid}", None, before, None)

    async def run(
        self, http: httpx.AsyncClient, model: Model, contended: Contended, killed: asyncio.Event
    ) -> None:
        """Write until the server dies; the write whose answer is lost is left in doubt."""
        while not killed.is_set():
            write = self.next_write(model, contended.assistant_id)
            shared = write.assistant_id == contended.assistant_id
            try:
                response = await http.request(write.method, write.path, json=write.body)
            except httpx.TransportError:
                if shared:
                    contended.lost_answer(write)
                else:
                    model.lost_answer(write)
                return
            if not response.is_success:
                self.problems.append(f"{write.method} {write.path}: {response.status_code} {response.text}")
            elif shared:
                self._expect(write, response, write.snapshot)
                contended.acknowledged(response.json()["version"], write)
            else:
                if write.after is not None and write.method != "DELETE":
                    self._expect(write, response, write.after.snapshot, write.after.active)
                model.acknowledged(write)

    def _expect(
        self, write: Write, response: httpx.Response, snapshot: Snapshot | None, version: int | None = None
    ) -> None:
        body = response.json()
        if Snapshot.of(body) != snapshot or version not in (None, body["version"]):
            self.problems.append(
                f"{write.method} {write.path} answered {body}, expected v{version} {snapshot}"
            )


@pytest.fixture
def seed() -> int:
    return int(os.environ.get(SEED_VARIABLE) or random.randrange(2**32))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_sigkilled_server_keeps_every_acknowledged_write_and_no_half_write(
    backend: str, tmp_path: Path, seed: int
) -> None:
    if backend == "sqlite":
        database = f"sqlite:///{tmp_path / 'crash.sqlite3'}"
    else:
        database = database_for(str(tmp_path / "crash"))
    try:
        await _crash_repeatedly(tmp_path, database, seed)
    except BaseException:
        print(f"replay this schedule with {SEED_VARIABLE}={seed}")
        raise


async def _crash_repeatedly(folder: Path, database: str, seed: int) -> None:
    schedule = random.Random(seed)
    delays = [schedule.uniform(0.3, 1.5) for _ in range(KILLS)]
    print(f"{SEED_VARIABLE}={seed}: kills after {', '.join(f'{d:.2f}' for d in delays)} s of load")
    clients = [Client(i, random.Random(f"{seed}-{i}")) for i in range(CLIENTS)]
    model = Model()
    server = start(folder, database)
    try:
        contended = await _create_contended(server, schedule)
        for round_number, delay in enumerate(delays, 1):
            killed = asyncio.Event()
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                writing = [asyncio.create_task(c.run(http, model, contended, killed)) for c in clients]
                await asyncio.sleep(delay)
                server.kill()
                killed.set()
                await asyncio.gather(*writing)
            server = start(folder, database)
            problems = [p for c in clients for p in c.problems]
            problems += await _check(server, database, model, contended)
            assert not problems, f"after kill {round_number}:\n" + "\n".join(problems)
        assert len(model.expected) > CLIENTS, "the clients wrote too little to test anything"
    finally:
        server.stop()


async def _create_contended(server: ServerProcess, schedule: random.Random) -> Contended:
    aid = str(uuid.UUID(int=schedule.getrandbits(128), version=4))
    snapshot = CONTENDED
    async with httpx.AsyncClient(base_url=server.url) as http:
        body = {"assistant_id": aid, "graph_id": snapshot.graph_id, **snapshot.body()}
        response = await http.post("/assistants", json=body)
        assert response.status_code == 200, response.text
    return Contended(aid, {1: snapshot})


async def _check(server: ServerProcess, database: str, model: Model, contended: Contended) -> list[str]:
    ids = {*model.expected, *model.in_doubt, contended.assistant_id}
    observed, problems = rows.read(database, ids)
    problems += model.reconcile(observed)
    problems += contended.reconcile(observed[contended.assistant_id])
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        for found in await asyncio.gather(*(_api_agrees(http, aid, s) for aid, s in observed.items())):
            problems += found
    return problems


async def _api_agrees(http: httpx.AsyncClient, aid: str, stored: Stored | None) -> list[str]:
    """The API serves what the rows hold: the active version, every version, and a search by the
    active metadata finds the assistant (its metadata index was written with the row)."""
    got = await http.get(f"/assistants/{aid}")
    if stored is None:
        return [] if got.status_code == 404 else [f"{aid}: deleted, yet GET answers {got.status_code}"]
    if got.status_code != 200:
        return [f"{aid}: GET answers {got.status_code} {got.text}"]
    body: dict[str, Any] = got.json()
    problems = []
    if body["version"] != stored.active or Snapshot.of(body) != stored.snapshot:
        problems.append(f"{aid}: GET answers {body}, the rows hold v{stored.active} {stored.snapshot}")
    listed = (await http.post(f"/assistants/{aid}/versions", json={"limit": 1000})).json()
    if {v["version"]: Snapshot.of(v) for v in listed} != stored.versions:
        problems.append(f"{aid}: /versions lists {listed}, the rows hold {stored.versions}")
    search = {"metadata": {"op": stored.snapshot.metadata["op"]}, "select": ["assistant_id"]}
    found = (await http.post("/assistants/search", json=search)).json()
    if [a["assistant_id"] for a in found] != [aid]:
        problems.append(f"{aid}: a search by its active metadata finds {found}")
    return problems
