"""Benchmark of the Assistants API: graphdock vs `langgraph dev` on one project, same load, one table."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from _harness import (
    REPO_DIR,
    ServerHandle,
    Stats,
    Work,
    install_exit_guards,
)
from _http import Client, RequestFailed, call, make_client
from _report import TargetResult
from _runner import (
    OFFICIAL_VENV_EPILOG,
    add_target_args,
    exit_status,
    measure_ceiling,
    report,
    run_targets,
    server_info,
    timed_phase,
    work_root,
)

GRAPH_ID = "agent"
VERSIONED_VERSIONS = 50  # versions each `versions`/`set_latest` target has before those phases
LOAD_OPS = (
    "get",
    "search",
    "search_all",
    "count",
    "versions",
    "set_latest",
    "update",
    "update_same",
    "create",
    "delete",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, epilog=OFFICIAL_VENV_EPILOG)
    p.add_argument(
        "--seconds", type=float, default=5.0, help="measured duration of each operation (default 5)"
    )
    p.add_argument(
        "--warmup", type=float, default=0.5, help="unrecorded warm-up before each operation (default 0.5)"
    )
    p.add_argument("--concurrency", type=int, default=8, help="closed-loop workers per operation (default 8)")
    p.add_argument("--assistants", type=int, default=1000, help="assistants created before the operations")
    p.add_argument(
        "--versions", type=int, default=10000, help="versions the growth phase gives one assistant"
    )
    p.add_argument(
        "--growth-concurrency",
        type=int,
        default=1,
        help="workers for the latency probes after growth (default 1)",
    )
    p.add_argument("--seed", type=int, default=1, help="seed for assistant ids and request choices")
    p.add_argument(
        "--no-ceiling",
        action="store_true",
        help="skip the yardstick: a bare ASGI app's `get` under the same stack and load (bench/bare_asgi.py)",
    )
    add_target_args(
        p, benchmark="assistants", default_config=REPO_DIR / "examples" / "agent" / "langgraph.json"
    )
    args = p.parse_args(argv)
    if args.assistants < 2 * args.concurrency + 3:
        p.error(
            f"--assistants must be at least {2 * args.concurrency + 3} for --concurrency {args.concurrency}"
        )
    if args.versions < 2:
        p.error("--versions must be at least 2")
    return args


# --- the workload ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Fixture:
    """Which pre-created assistant each phase touches; identical ids on every target (seeded)."""

    ids: list[str]
    concurrency: int

    @property
    def versioned(self) -> list[str]:  # one per worker, VERSIONED_VERSIONS versions each
        return self.ids[: self.concurrency]

    @property
    def update_own(self) -> list[str]:  # one per worker for `update`
        return self.ids[self.concurrency : 2 * self.concurrency]

    @property
    def update_same(self) -> str:
        return self.ids[2 * self.concurrency]

    @property
    def fresh(self) -> str:  # untouched until the growth probes: the 1-version assistant
        return self.ids[2 * self.concurrency + 1]

    @property
    def grown(self) -> str:  # the one the growth phase gives --versions versions
        return self.ids[2 * self.concurrency + 2]


def assistant_body(i: int, assistant_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "graph_id": GRAPH_ID,
        "name": f"bench-{i}",
        "config": {
            "configurable": {"model_name": "openai", "system_prompt": f"You are assistant {i}. Be brief."}
        },
        "metadata": {"owner": f"u{i % 10}", "n": i},
    }
    if assistant_id is not None:
        body["assistant_id"] = assistant_id
    return body


def update_body(k: int) -> dict[str, Any]:
    model = "anthropic" if k % 2 else "openai"
    return {"config": {"configurable": {"model_name": model, "system_prompt": f"Revision {k}: be brief."}}}


def load_ops(fx: Fixture, client: Client, seed: int, created: list[str]) -> dict[str, Work]:
    """The timed operations; each takes the worker index and raises on a non-2xx answer.

    `create` appends the ids it made to `created`, and `delete` deletes them (newest first).
    """
    rngs = [random.Random(f"{seed}-{w}") for w in range(fx.concurrency)]
    counter = itertools.count()
    ids, versioned, own, same = fx.ids, fx.versioned, fx.update_own, fx.update_same

    async def get(w: int) -> None:
        await call(client, "GET", f"/assistants/{rngs[w].choice(ids)}")

    async def search(_w: int) -> None:
        await call(client, "POST", "/assistants/search", {"metadata": {"owner": "u3"}, "limit": 10})

    async def search_all(_w: int) -> None:
        await call(client, "POST", "/assistants/search", {"limit": 10})

    async def count(_w: int) -> None:
        await call(client, "POST", "/assistants/count", {})

    async def versions(w: int) -> None:
        await call(client, "POST", f"/assistants/{versioned[w]}/versions", {"limit": 10})

    async def set_latest(w: int) -> None:
        await call(client, "POST", f"/assistants/{versioned[w]}/latest", {"version": 1})

    async def update(w: int) -> None:
        await call(client, "PATCH", f"/assistants/{own[w]}", update_body(next(counter)))

    async def update_same(_w: int) -> None:
        await call(client, "PATCH", f"/assistants/{same}", update_body(next(counter)))

    async def create(_w: int) -> None:
        response = await call(client, "POST", "/assistants", assistant_body(100_000 + next(counter)))
        created.append(response.json()["assistant_id"])

    async def delete(_w: int) -> None:  # its budget is len(created): never runs dry
        await call(client, "DELETE", f"/assistants/{created.pop()}")

    ops: dict[str, Work] = {
        "get": get,
        "search": search,
        "search_all": search_all,
        "count": count,
        "versions": versions,
        "set_latest": set_latest,
        "update": update,
        "update_same": update_same,
        "create": create,
        "delete": delete,
    }
    assert tuple(ops) == LOAD_OPS
    return ops


# --- one target -----------------------------------------------------------------------------


class TargetRun:
    """Runs every phase against one started server, recording into a TargetResult."""

    def __init__(self, handle: ServerHandle, result: TargetResult, args: argparse.Namespace) -> None:
        self.handle = handle
        self.result = result
        self.args = args
        self.client = make_client(args.client, handle.base_url)
        rng = random.Random(args.seed)
        ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(args.assistants)]
        self.fx = Fixture(ids, args.concurrency)

    async def run(self) -> None:
        try:
            self.result.info = await server_info(self.client)
            await self.setup()
            created: list[str] = []
            ops = load_ops(self.fx, self.client, self.args.seed, created)
            for name, work in ops.items():
                # delete: no warm-up, and at most what `create` made, so it never runs out
                budget = {"requests": len(created)} if name == "delete" else {"warmup": self.args.warmup}
                await self.phase(name, work, seconds=self.args.seconds, **budget)
            await self.growth()
        finally:
            await self.client.aclose()

    async def phase(self, name: str, work: Work, concurrency: int | None = None, **kw: Any) -> Stats:
        conc = concurrency or self.args.concurrency
        return await timed_phase(self.handle, self.client, self.result, name, work, concurrency=conc, **kw)

    async def setup(self) -> None:
        ids = self.fx.ids
        counter = itertools.count()

        async def create_one(_w: int) -> None:
            i = next(counter)
            await call(self.client, "POST", "/assistants", assistant_body(i, ids[i]))

        await self.phase("setup_create", create_one, requests=len(ids))

        async def give_versions(assistant_id: str) -> None:
            for k in range(VERSIONED_VERSIONS - 1):
                await call(self.client, "PATCH", f"/assistants/{assistant_id}", update_body(k))

        outcomes = await asyncio.gather(
            *(give_versions(a) for a in self.fx.versioned), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                self.result.checks.append(f"setup: giving versions failed: {outcome}")
        await self._check_setup()

    async def _check_setup(self) -> None:
        n = len(self.fx.ids)
        total = (await call(self.client, "POST", "/assistants/count", {})).json()
        if total != n + 1:  # + the graph's default assistant
            self.result.checks.append(
                f"setup: count is {total}, expected {n + 1} ({n} + the default assistant)"
            )
        page = (
            await call(self.client, "POST", "/assistants/search", {"metadata": {"owner": "u3"}, "limit": 10})
        ).json()
        if len(page) != 10 or any(a["metadata"].get("owner") != "u3" for a in page):
            self.result.checks.append(
                f"setup: search owner=u3 returned {len(page)} items, not 10 owned by u3"
            )
        version = (await call(self.client, "GET", f"/assistants/{self.fx.versioned[0]}")).json()["version"]
        if version != VERSIONED_VERSIONS:
            self.result.checks.append(
                f"setup: versioned assistant is at version {version}, not {VERSIONED_VERSIONS}"
            )

    async def growth(self) -> None:
        """PATCH one assistant to --versions versions, then probe get/versions/update on 1 vs N versions."""
        target, n = self.fx.grown, self.args.versions
        counter = itertools.count()

        async def patch(_w: int) -> None:
            await call(self.client, "PATCH", f"/assistants/{target}", update_body(next(counter)))

        started = time.perf_counter()
        fill = await self.phase("fill", patch, requests=n - 1)
        version = await self._version(target)
        top_ups = 0
        while version < n and top_ups < 5:  # only when fill had errors: finish one PATCH at a time
            top_ups += 1
            await self.phase(f"fill_top_up_{top_ups}", patch, concurrency=1, requests=n - version)
            version = await self._version(target)
        numbers = await self._version_numbers(target)
        growth = {
            "target_versions": n,
            "fill_seconds": round(time.perf_counter() - started, 3),
            "fill_errors": dict(fill.errors),
            "top_up_rounds": top_ups,
            "final_version": version,
            "versions_listed": len(numbers),
            "distinct_version_numbers": len(set(numbers)),
        }
        self.result.details["growth"] = growth
        self.result.notes.append(
            f"growth to {n} versions took {growth['fill_seconds']:.1f}s (active version {version}, "
            f"{len(numbers)} listed, {len(set(numbers))} distinct)"
        )
        if version != n or len(set(numbers)) != len(numbers) or len(numbers) != n:
            self.result.checks.append(
                f"growth: active version {version}, {len(numbers)} versions listed, "
                f"{len(set(numbers))} distinct numbers (expected {n} of each)"
            )
        probes = self._growth_probes(target)
        for name, work in probes.items():
            conc = self.args.growth_concurrency
            await self.phase(name, work, concurrency=conc, seconds=self.args.seconds, warmup=self.args.warmup)

    def _growth_probes(self, grown: str) -> dict[str, Work]:
        fresh, n, counter = self.fx.fresh, self.args.versions, itertools.count()

        def probe(method: str, assistant_id: str, suffix: str, body: Callable[[], Any] | None) -> Work:
            async def work(_w: int) -> None:
                await call(
                    self.client, method, f"/assistants/{assistant_id}{suffix}", body() if body else None
                )

            return work

        def upd() -> Any:
            return update_body(next(counter))

        def page() -> Any:
            return {"limit": 10}

        def first() -> Any:
            return {"version": 1}

        def middle() -> Any:  # halfway through the history, not the newest version
            return {"version": n // 2}

        return {
            "get@1v": probe("GET", fresh, "", None),
            f"get@{n}v": probe("GET", grown, "", None),
            "versions@1v": probe("POST", fresh, "/versions", page),
            f"versions@{n}v": probe("POST", grown, "/versions", page),
            "set_latest@1v": probe("POST", fresh, "/latest", first),
            f"set_latest@{n}v": probe("POST", grown, "/latest", middle),
            "update@1v": probe("PATCH", fresh, "", upd),
            f"update@{n}v": probe("PATCH", grown, "", upd),
        }

    async def _version(self, assistant_id: str) -> int:
        version: int = (await call(self.client, "GET", f"/assistants/{assistant_id}")).json()["version"]
        return version

    async def _version_numbers(self, assistant_id: str) -> list[int]:
        numbers: list[int] = []
        while True:
            body = {"limit": 1000, "offset": len(numbers)}
            response = await self.client.request("POST", f"/assistants/{assistant_id}/versions", body)
            if response.status == 404 and numbers:  # the reference answers an empty page with 404
                return numbers
            if not 200 <= response.status < 300:
                raise RequestFailed("POST", f"/assistants/{assistant_id}/versions", response)
            page = response.json()
            if not page:
                return numbers
            numbers += [v["version"] for v in page]


def ceiling_line(ceiling: Stats, results: list[TargetResult]) -> str:
    shares = ", ".join(
        f"{r.label} {r.phases['get'].rps / ceiling.rps:.0%}"
        for r in results
        if "get" in r.phases and ceiling.rps
    )
    return (
        f"\nceiling: a bare ASGI app (static JSON, same uvicorn/uvloop/httptools stack, same load): "
        f"get {ceiling.rps:.1f} req/s, p50 {ceiling.percentile_ms(50):.2f} ms, p99 {ceiling.percentile_ms(99):.2f} ms, "
        f"server cpu/req {ceiling.server_cpu_ms_per_request():.2f} ms\n"
        f"get as a share of the ceiling: {shares}"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_exit_guards()
    started = datetime.now().astimezone()
    with work_root(args.keep_workdir) as root:
        results, exit_code = run_targets(
            args, root, lambda handle, result: TargetRun(handle, result, args).run()
        )
        ceilings = {} if args.no_ceiling or exit_code else measure_ceiling(args, root, [args.concurrency])
        ceiling = ceilings.get(args.concurrency)
    title = (
        f"Assistants API: {args.assistants} assistants, concurrency {args.concurrency}, {args.seconds:g}s per op "
        f"(warm-up {args.warmup:g}s), growth probes at concurrency {args.growth_concurrency}; client {args.client}"
    )
    footer = ceiling_line(ceiling, results) if ceiling is not None else None
    extra = {"ceiling": {"bare_asgi_get": ceiling.summary()}} if ceiling is not None else {}
    report("assistants", title, results, args, started, footer=footer, **extra)
    return exit_status(exit_code, results)


if __name__ == "__main__":
    sys.exit(main())
