"""`graphdock assistants export|import` as a user runs them: a subprocess between real servers.

Every server here is a fresh graphdock with its own SQLite file; histories are compared over the
public API, field by field, on both sides. The HTTP routes behind the commands get one test too.
"""

from __future__ import annotations

import copy
import json
import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import EXAMPLE, GRAPHS, GUIDE_V1, GUIDE_V2, RunningServer

ASSISTANTS = [sys.executable, "-m", "graphdock", "assistants"]
# Spelled out rather than imported: the file format is a contract with files already written.
FORMAT = "graphdock.assistants/v1"


# -- the command and the servers ---------------------------------------------------------------


def graphdock(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHDOCK_")}
    return subprocess.run([*ASSISTANTS, *args], capture_output=True, text=True, timeout=60, env=env)


def succeeds(*args: str) -> subprocess.CompletedProcess[str]:
    done = graphdock(*args)
    assert done.returncode == 0, (
        f"graphdock assistants {' '.join(args)} exited {done.returncode}:\n{done.stderr}"
    )
    return done


def fails_cleanly(*args: str) -> str:
    """Exit status 2 and a one-line reason, never a traceback; returns stderr."""
    done = graphdock(*args)
    assert done.returncode == 2, f"expected exit 2, got {done.returncode}:\n{done.stderr}"
    assert "Traceback" not in done.stderr, f"a traceback reached the user:\n{done.stderr}"
    return done.stderr


@dataclass
class Node:
    url: str
    http: httpx.Client

    def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        r = self.http.request(method, path, json=body)
        assert r.status_code == status, f"{method} {path} on {self.url}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def patch(self, assistant_id: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.call("PATCH", f"/assistants/{assistant_id}", body)
        return result

    def state(self) -> dict[str, dict[str, Any]]:
        """Every assistant: its whole active row and its whole version list."""
        found = self.call("POST", "/assistants/search", {"limit": 1000})
        assert len(found) < 1000, "more assistants than one search page; raise the limit"
        return {
            a["assistant_id"]: {
                "assistant": self.call("GET", f"/assistants/{a['assistant_id']}"),
                "versions": self.call("POST", f"/assistants/{a['assistant_id']}/versions", {"limit": 1000}),
            }
            for a in found
        }

    def defaults(self) -> list[str]:
        found = self.call("POST", "/assistants/search", {"metadata": {"created_by": "system"}, "limit": 1000})
        return [a["assistant_id"] for a in found]

    def delete_defaults(self) -> None:
        for assistant_id in self.defaults():
            self.call("DELETE", f"/assistants/{assistant_id}", status=204)


@pytest.fixture
def nodes(start_server: Callable[..., RunningServer], tmp_path: Path) -> Iterator[Callable[..., Node]]:
    """`nodes("a")` starts a fresh server on its own database file, with a client for it."""
    with ExitStack() as stack:

        def start(name: str, config: Path = GRAPHS, **overrides: object) -> Node:
            running = start_server(config=config, db=tmp_path / f"{name}.sqlite3", **overrides)
            return Node(running.url, stack.enter_context(httpx.Client(base_url=running.url, timeout=30)))

        yield start


# -- a varied history --------------------------------------------------------------------------


@dataclass
class Source:
    node: Node
    # name → assistant_id: alpha, beta, gamma, delta (made by the test) and plain_default (edited).
    ids: dict[str, str]


def build_varied_history(node: Node) -> dict[str, str]:
    """Gaps in the numbers, active versions that are not the newest, restores, two graphs."""
    alpha = node.call(
        "POST",
        "/assistants",
        {
            "graph_id": "agent",
            "config": GUIDE_V1,
            "metadata": {"team": "red", "rank": 1},
            "name": "alpha",
            "description": "first",
        },
    )["assistant_id"]
    node.patch(alpha, {"config": GUIDE_V2})  # v2
    node.patch(alpha, {"context": {"model_name": "anthropic", "system_prompt": "Be brief."}})  # v3
    node.patch(alpha, {"metadata": {"stage": "beta", "nested": {"k": [1, 2.5, None, True]}}})  # v4
    node.patch(alpha, {"name": "alpha prime"})  # v5
    node.patch(alpha, {"description": "edited"})  # v6
    assert node.call("POST", f"/assistants/{alpha}/versions/2/restore")["version"] == 7
    node.patch(alpha, {"name": "alpha final"})  # v8
    assert node.call("POST", f"/assistants/{alpha}/latest", {"version": 4})["version"] == 4
    node.call("DELETE", f"/assistants/{alpha}/versions/5", status=204)
    node.call("DELETE", f"/assistants/{alpha}/versions/8", status=204)  # last_version 8 > max left, 7

    beta = node.call(
        "POST",
        "/assistants",
        {"graph_id": "plain", "config": {"tags": ["t"], "recursion_limit": 9}, "metadata": {"team": "blue"}},
    )["assistant_id"]
    node.patch(beta, {"config": {"tags": ["u"]}})  # v2
    node.patch(beta, {"metadata": {"team": "green"}})  # v3
    assert node.call("POST", f"/assistants/{beta}/versions/1/restore")["version"] == 4
    assert node.call("POST", f"/assistants/{beta}/latest", {"version": 1})["version"] == 1
    node.call("DELETE", f"/assistants/{beta}/versions/2", status=204)

    gamma = node.call(
        "POST",
        "/assistants",
        {
            "graph_id": "agent",
            "context": {"model_name": "openai", "system_prompt": "Ünïcødé — ok?"},
            "name": "gämma ✓",
            "metadata": {"team": "red"},
        },
    )["assistant_id"]

    # Without auth every version's changed_by is null; one imported history carries authors, so
    # the round trip proves changed_by (and hand-written timestamps) survive too.
    delta = str(uuid.uuid4())
    node.call("POST", "/assistants/import", {"format": FORMAT, "assistants": [audited_history(delta)]})
    audited = node.call("POST", f"/assistants/{delta}/versions", {"limit": 100})
    assert [(v["version"], v["changed_by"]) for v in audited] == [(3, "bob"), (1, "alice@example.com")]

    # A default assistant with a history of its own.
    plain_default = next(
        a["assistant_id"]
        for a in node.call("POST", "/assistants/search", {"metadata": {"created_by": "system"}, "limit": 100})
        if a["graph_id"] == "plain"
    )
    node.patch(plain_default, {"name": "plain, edited"})

    # The history is what the test says it is (guards against a silent change in the API).
    versions = node.call("POST", f"/assistants/{alpha}/versions", {"limit": 100})
    assert [v["version"] for v in versions] == [7, 6, 4, 3, 2, 1]
    return {"alpha": alpha, "beta": beta, "gamma": gamma, "delta": delta, "plain_default": plain_default}


def audited_history(assistant_id: str) -> dict[str, Any]:
    """A hand-written export entry: authors, a restore, a gap, times given with "Z"."""

    def version(number: int, created_at: str, **audit: Any) -> dict[str, Any]:
        return {
            "version": number,
            "graph_id": "plain",
            "config": {"tags": [f"v{number}"]},
            "context": {},
            "metadata": {"team": "audit"},
            "name": "delta",
            "description": None,
            "created_at": created_at,
            **audit,
        }

    return {
        "assistant_id": assistant_id,
        "created_at": "2024-01-02T03:04:05.000006Z",
        "updated_at": "2024-01-04T00:00:00.5+00:00",
        "version": 3,
        "last_version": 3,
        "versions": [
            version(1, "2024-01-02T03:04:05.000006Z", change="create", changed_by="alice@example.com"),
            version(3, "2024-01-04T00:00:00+00:00", change="restore", changed_by="bob", restored_from=1),
        ],
    }


@pytest.fixture
def source(nodes: Callable[..., Node]) -> Source:
    node = nodes("source")
    return Source(node, build_varied_history(node))


def export_all(source: Source, tmp_path: Path, *flags: str) -> Path:
    file = tmp_path / "export.json"
    succeeds("export", "--url", source.node.url, "--output", str(file), *flags)
    return file


def differences(expected: dict[str, dict[str, Any]], actual: dict[str, dict[str, Any]]) -> list[str]:
    """Every field of every assistant and version that is not the same on both sides."""
    found: list[str] = []
    for aid in sorted(expected.keys() | actual.keys()):
        if aid not in actual or aid not in expected:
            found.append(f"{aid}: only on the {'source' if aid in expected else 'target'}")
            continue
        e, a = expected[aid]["assistant"], actual[aid]["assistant"]
        found += [
            f"{aid}.{k}: {e.get(k)!r} != {a.get(k)!r}" for k in e.keys() | a.keys() if e.get(k) != a.get(k)
        ]
        ev = {v["version"]: v for v in expected[aid]["versions"]}
        av = {v["version"]: v for v in actual[aid]["versions"]}
        if ev.keys() != av.keys():
            found.append(f"{aid}: versions {sorted(ev)} != {sorted(av)}")
        for n in sorted(ev.keys() & av.keys()):
            found += [
                f"{aid} v{n}.{k}: {ev[n].get(k)!r} != {av[n].get(k)!r}"
                for k in ev[n].keys() | av[n].keys()
                if ev[n].get(k) != av[n].get(k)
            ]
    return found


def assert_same(expected: dict[str, dict[str, Any]], actual: dict[str, dict[str, Any]], why: str) -> None:
    found = differences(expected, actual)
    assert not found, why + ":\n" + "\n".join(found)


@dataclass
class Migration:
    source: Source
    target: Node
    file: Path
    imported: subprocess.CompletedProcess[str]


@pytest.fixture
def migration(source: Source, nodes: Callable[..., Node], tmp_path: Path) -> Migration:
    """The whole source exported with the CLI and imported into a fresh target with the CLI."""
    file = export_all(source, tmp_path)
    target = nodes("target")
    # A fresh server makes its own default assistants, with the same ids as the source's; the
    # untouched ones would be kept as they are (see the default-assistant tests below). Removing
    # them first makes every one of the source's histories arrive, so all can be compared.
    target.delete_defaults()
    imported = succeeds("import", str(file), "--url", target.url)
    return Migration(source, target, file, imported)


def write_document(path: Path, assistants: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"format": FORMAT, "assistants": assistants}), encoding="utf-8")
    return path


def entries(file: Path) -> dict[str, dict[str, Any]]:
    document = json.loads(file.read_text(encoding="utf-8"))
    return {a["assistant_id"]: a for a in document["assistants"]}


def unused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- round trip --------------------------------------------------------------------------------


def test_round_trip_keeps_every_field_of_every_assistant_and_version(migration: Migration) -> None:
    source, target = migration.source.node, migration.target
    expected = source.state()
    assert len(expected) == 20, "the test's 4 assistants and the 16 graphs' defaults"
    assert "created 20 assistants, 0 already present" in migration.imported.stderr, migration.imported.stderr
    assert_same(expected, target.state(), "the imported histories differ from the exported ones")

    alpha = expected[migration.source.ids["alpha"]]
    assert (alpha["assistant"]["version"], [v["version"] for v in alpha["versions"]]) == (
        4,
        [7, 6, 4, 3, 2, 1],
    ), "the history under test has an older active version and gaps"
    restored = next(v for v in alpha["versions"] if v["version"] == 7)
    assert (restored["change"], restored["restored_from"]) == ("restore", 2)
    delta = target.call("GET", f"/assistants/{migration.source.ids['delta']}")
    assert (delta["created_at"], delta["updated_at"]) == (
        "2024-01-02T03:04:05.000006+00:00",
        "2024-01-04T00:00:00.500000+00:00",
    ), "imported times are kept (in the one fixed-width UTC form), not replaced by the import's time"


def test_imported_assistants_are_searchable_by_their_active_metadata(migration: Migration) -> None:
    ids = migration.source.ids
    found = migration.target.call("POST", "/assistants/search", {"metadata": {"stage": "beta"}})
    assert [a["assistant_id"] for a in found] == [ids["alpha"]], "the metadata index was not rebuilt"
    found = migration.target.call("POST", "/assistants/search", {"metadata": {"team": "blue"}})
    assert [a["assistant_id"] for a in found] == [ids["beta"]], "beta's active version (1) says team blue"


def test_a_patch_after_import_continues_from_last_version_and_never_reuses_a_deleted_number(
    migration: Migration,
) -> None:
    ids, target = migration.source.ids, migration.target
    assert target.patch(ids["alpha"], {"name": "on the target"})["version"] == 9, "alpha's last_version is 8"
    assert target.patch(ids["beta"], {"name": "on the target"})["version"] == 5, "beta's last_version is 4"
    versions = [v["version"] for v in target.call("POST", f"/assistants/{ids['alpha']}/versions", {})]
    assert versions == [9, 7, 6, 4, 3, 2, 1]


# -- idempotence and conflicts -----------------------------------------------------------------


def test_importing_the_same_file_again_reports_all_unchanged_and_changes_nothing(
    migration: Migration,
) -> None:
    before = migration.target.state()
    again = succeeds("import", str(migration.file), "--url", migration.target.url)
    assert "created 0 assistants, 20 already present" in again.stderr, again.stderr
    assert_same(before, migration.target.state(), "a repeated import changed the target")


def test_a_history_that_differs_on_the_target_is_refused_by_id_and_nothing_changes(
    migration: Migration,
) -> None:
    ids, target = migration.source.ids, migration.target
    target.patch(ids["beta"], {"name": "changed on the target"})
    before = target.state()
    stderr = fails_cleanly("import", str(migration.file), "--url", target.url)
    assert ids["beta"] in stderr, f"the conflicting assistant is not named:\n{stderr}"
    assert ids["alpha"] not in stderr, f"an identical assistant is named as a conflict:\n{stderr}"
    assert_same(before, target.state(), "a refused import changed the target")


def test_a_conflict_in_a_later_batch_keeps_a_new_assistant_in_an_earlier_batch_out(
    migration: Migration, tmp_path: Path
) -> None:
    ids, target = migration.source.ids, migration.target
    target.patch(ids["alpha"], {"name": "changed on the target"})
    exported = entries(migration.file)
    new = {**copy.deepcopy(exported[ids["gamma"]]), "assistant_id": str(uuid.uuid4())}
    file = write_document(tmp_path / "mixed.json", [new, exported[ids["alpha"]]])
    stderr = fails_cleanly("import", str(file), "--url", target.url, "--batch-size", "1")
    assert ids["alpha"] in stderr, stderr
    target.call("GET", f"/assistants/{new['assistant_id']}", status=404)


def test_the_same_assistant_twice_in_one_file_is_refused_before_anything_is_written(
    migration: Migration, tmp_path: Path
) -> None:
    # As when exports of two servers are concatenated. One request answers 422 for it; across
    # batches each check passes alone, the first batch is written, and the second one conflicts.
    gamma = entries(migration.file)[migration.source.ids["gamma"]]
    twin = {**copy.deepcopy(gamma), "assistant_id": str(uuid.uuid4())}
    other = copy.deepcopy(twin)
    other["versions"][0]["name"] = "the other server's"
    file = write_document(tmp_path / "twice.json", [twin, other])
    stderr = fails_cleanly("import", str(file), "--url", migration.target.url, "--batch-size", "1")
    assert twin["assistant_id"] in stderr, stderr
    migration.target.call("GET", f"/assistants/{twin['assistant_id']}", status=404)


@pytest.mark.parametrize("value", [pytest.param(True, id="true"), pytest.param(1.0, id="1.0")])
def test_a_history_that_differs_only_in_json_type_is_a_conflict_not_unchanged(
    migration: Migration, tmp_path: Path, value: object
) -> None:
    # Stored: "rank": 1. In Python True == 1 == 1.0, in JSON (and on the next export) they differ.
    alpha = copy.deepcopy(entries(migration.file)[migration.source.ids["alpha"]])
    first = next(v for v in alpha["versions"] if v["version"] == 1)
    assert first["metadata"]["rank"] == 1
    first["metadata"]["rank"] = value
    file = write_document(tmp_path / "retyped.json", [alpha])
    stderr = fails_cleanly("import", str(file), "--url", migration.target.url)
    assert alpha["assistant_id"] in stderr, stderr


# -- dry run, progress, selection --------------------------------------------------------------


def test_dry_run_reports_what_would_be_created_and_writes_nothing(
    source: Source, nodes: Callable[..., Node], tmp_path: Path
) -> None:
    ids = source.ids
    file = export_all(source, tmp_path, "--assistant-id", ids["alpha"], "--assistant-id", ids["beta"])
    target = nodes("target")
    before = target.state()
    done = succeeds("import", str(file), "--url", target.url, "--dry-run")
    assert "would create 2 assistants, 0 already present" in done.stderr, done.stderr
    assert "import:" not in done.stderr, f"a dry run has no import phase:\n{done.stderr}"
    assert_same(before, target.state(), "a dry run wrote to the target")
    done = succeeds("import", str(file), "--url", target.url)
    assert "created 2 assistants" in done.stderr, "the dry run's prediction did not come true"


def test_large_transfers_page_in_batches_and_show_tqdm_progress_on_stderr(
    nodes: Callable[..., Node], tmp_path: Path
) -> None:
    source = nodes("source")
    for i in range(120):
        source.call("POST", "/assistants", {"graph_id": "plain", "name": f"bulk {i}"})
    file = tmp_path / "bulk.json"
    exported = succeeds("export", "--url", source.url, "--output", str(file), "--batch-size", "50")
    assert re.search(r"export: .*136/136", exported.stderr), exported.stderr
    assert exported.stdout == "", "with --output nothing goes to standard output"
    ids = [a["assistant_id"] for a in json.loads(file.read_text())["assistants"]]
    assert len(ids) == len(set(ids)) == 136, "pages overlapped or skipped assistants"

    target = nodes("target")
    target.delete_defaults()
    imported = succeeds("import", str(file), "--url", target.url, "--batch-size", "50")
    for phase in ("check", "import"):
        assert re.search(rf"{phase}: .*136/136", imported.stderr), f"no {phase} progress:\n{imported.stderr}"
    assert set(target.state()) == set(ids)


def test_assistant_id_twice_exports_exactly_those_two_to_standard_output(source: Source) -> None:
    ids = source.ids
    done = succeeds(
        "export", "--url", source.node.url, "--assistant-id", ids["alpha"], "--assistant-id", ids["gamma"]
    )
    document = json.loads(done.stdout)  # progress and the summary go to stderr only
    assert document["format"] == FORMAT
    assert {a["assistant_id"] for a in document["assistants"]} == {ids["alpha"], ids["gamma"]}
    alpha = next(a for a in document["assistants"] if a["assistant_id"] == ids["alpha"])
    assert (alpha["version"], alpha["last_version"], [v["version"] for v in alpha["versions"]]) == (
        4,
        8,
        [1, 2, 3, 4, 6, 7],
    ), "versions come oldest first, with the active one and the highest number ever given"


def test_exporting_an_assistant_id_that_does_not_exist_fails_naming_it(source: Source) -> None:
    missing = str(uuid.uuid4())
    stderr = fails_cleanly(
        "export", "--url", source.node.url, "--assistant-id", source.ids["alpha"], "--assistant-id", missing
    )
    assert missing in stderr, f"a mistyped id is silently left out:\n{stderr}"


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["export", "import"])
def test_an_unreachable_url_exits_2_naming_it_without_a_traceback(action: str, tmp_path: Path) -> None:
    url = unused_url()
    if action == "export":
        args = ["export", "--output", str(tmp_path / "out.json")]
    else:
        # One entry, so that the command has something to send.
        file = write_document(tmp_path / "one.json", [{"assistant_id": str(uuid.uuid4())}])
        args = ["import", str(file)]
    stderr = fails_cleanly(*args, "--url", url)
    assert url in stderr, stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(None, r"cannot read", id="missing file"),
        pytest.param("not json at all", r"cannot read it as JSON", id="not JSON"),
        pytest.param('{"hello": 1}', r"not a graphdock export", id="a JSON object of another kind"),
        pytest.param("[]", r"not a graphdock export", id="a JSON list"),
        pytest.param(
            '{"format": "graphdock.assistants/v0", "assistants": []}',
            r"not a graphdock export",
            id="another format version",
        ),
        pytest.param(
            '{"format": "graphdock.assistants/v1", "assistants": {"x": 1}}',
            r"assistants",
            id="assistants not a list",
        ),
        pytest.param(
            '{"format": "graphdock.assistants/v1", "assistants": [{"assistant_id": "not-a-uuid"}]}',
            r"answered 422: assistants\.0\.",
            id="an entry the server refuses",
        ),
    ],
)
def test_a_file_that_is_not_an_export_exits_2_with_a_clear_message(
    server: RunningServer, tmp_path: Path, content: str | None, expected: str
) -> None:
    file = tmp_path / "document.json"
    if content is not None:
        file.write_text(content, encoding="utf-8")
    stderr = fails_cleanly("import", str(file), "--url", server.url)
    assert re.search(expected, stderr), stderr
    if content is None or "graphdock.assistants/v1" not in content:
        assert str(file) in stderr, f"the message does not name the file:\n{stderr}"


def test_an_output_file_that_cannot_be_written_exits_2_naming_it(source: Source, tmp_path: Path) -> None:
    output = tmp_path / "no such folder" / "export.json"
    stderr = fails_cleanly("export", "--url", source.node.url, "--output", str(output))
    assert str(output) in stderr, stderr


def test_an_assistant_on_a_graph_the_target_does_not_serve_is_refused_naming_the_graph(
    source: Source, nodes: Callable[..., Node], tmp_path: Path
) -> None:
    ids = source.ids
    # gamma runs `agent`, which the example serves; beta's active version runs `plain`, which it does not.
    file = export_all(source, tmp_path, "--assistant-id", ids["gamma"], "--assistant-id", ids["beta"])
    target = nodes("example", config=EXAMPLE)
    stderr = fails_cleanly("import", str(file), "--url", target.url)
    assert "'plain'" in stderr, f"the missing graph is not named:\n{stderr}"
    assert ids["beta"] in stderr, stderr
    target.call("GET", f"/assistants/{ids['gamma']}", status=404)


def test_an_assistant_larger_than_one_request_body_is_refused_with_advice_and_nothing_written(
    nodes: Callable[..., Node], tmp_path: Path
) -> None:
    # Every PATCH fits the body limit, but the history (all versions in one entry) does not; the
    # default 10 MiB limit shows the same at scale. Scaled down here to stay fast.
    limit = 2048
    source = nodes("source", max_body_bytes=limit)
    aid = source.call("POST", "/assistants", {"graph_id": "plain"})["assistant_id"]
    for key in "abc":
        source.patch(aid, {"metadata": {key: "x" * 1500}})
    file = tmp_path / "big.json"
    succeeds("export", "--url", source.url, "--output", str(file), "--assistant-id", aid)
    assert file.stat().st_size > limit
    target = nodes("target", max_body_bytes=limit)
    stderr = fails_cleanly("import", str(file), "--url", target.url, "--batch-size", "1")
    assert "--max-body-bytes" in stderr, f"no advice on the body limit:\n{stderr}"
    target.call("GET", f"/assistants/{aid}", status=404)
    # With the limit raised on the target, as the advice says, the same file moves.
    roomy = nodes("roomy")
    succeeds("import", str(file), "--url", roomy.url, "--batch-size", "1")
    assert_same({aid: source.state()[aid]}, {aid: roomy.state()[aid]}, "the large history did not round-trip")


# -- default assistants ------------------------------------------------------------------------


def test_a_full_export_into_a_fresh_server_replaces_its_untouched_defaults_and_keeps_the_rest(
    source: Source, nodes: Callable[..., Node], tmp_path: Path
) -> None:
    # Both servers derive default ids as uuid5(graph_id) and each made its own at start-up. An
    # untouched default carries no one's work: the source's edited `plain` default replaces the
    # target's untouched one; the source's untouched defaults leave the target's as they are.
    file = export_all(source, tmp_path)
    target = nodes("target")
    before = target.state()
    done = succeeds("import", str(file), "--url", target.url)
    assert "replaced 1 untouched default" in done.stderr, done.stderr
    after = target.state()
    plain = source.ids["plain_default"]
    assert_same(
        {plain: source.node.state()[plain]}, {plain: after[plain]}, "the edited default did not arrive"
    )
    for aid in target.defaults():
        if aid != plain:
            assert after[aid] == before[aid], f"untouched default {aid} changed"
    assert source.ids["alpha"] in after


def test_an_edited_default_on_the_target_is_a_conflict_named_in_the_refusal(
    source: Source, nodes: Callable[..., Node], tmp_path: Path
) -> None:
    file = export_all(source, tmp_path)
    target = nodes("target")
    plain = source.ids["plain_default"]
    target.patch(plain, {"name": "edited on the target too"})
    before = target.state()
    stderr = fails_cleanly("import", str(file), "--url", target.url)
    assert plain in stderr, stderr
    assert "nothing was imported" in stderr, stderr
    assert_same(before, target.state(), "a refused import changed the target")


# -- the HTTP routes behind the commands -------------------------------------------------------


def test_an_export_page_has_next_until_the_end_and_is_itself_an_import_document(
    source: Source, nodes: Callable[..., Node]
) -> None:
    node, ids = source.node, source.ids
    first = node.call("POST", "/assistants/export", {"limit": 5})
    assert (len(first["assistants"]), first["next"]) == (5, 5)
    last = node.call("POST", "/assistants/export", {"limit": 6, "offset": 18})
    assert (len(last["assistants"]), last["next"]) == (2, None), "20 assistants: the fourth page ends it"
    exact = node.call("POST", "/assistants/export", {"limit": 20})
    assert (len(exact["assistants"]), exact["next"]) == (20, None), "a page ending exactly at the end"

    chosen = [ids["alpha"], ids["beta"]]
    one = node.call("POST", "/assistants/export", {"assistant_ids": chosen, "limit": 1})
    two = node.call(
        "POST", "/assistants/export", {"assistant_ids": chosen, "limit": 1, "offset": one["next"]}
    )
    assert (one["next"], two["next"]) == (1, None)
    pages = [one, two]
    assert sorted(a["assistant_id"] for p in pages for a in p["assistants"]) == sorted(chosen)

    # Back into its own server: nothing new. Into a fresh one: created, with the same history.
    assert node.call("POST", "/assistants/import", first) == {
        "created": [],
        "replaced": [],
        "unchanged": [a["assistant_id"] for a in first["assistants"]],
        "dry_run": False,
    }
    target = nodes("target")
    for page in pages:
        report = target.call("POST", "/assistants/import", page)
        assert report["created"] == [page["assistants"][0]["assistant_id"]], report
    expected = {aid: state for aid, state in node.state().items() if aid in chosen}
    actual = {aid: state for aid, state in target.state().items() if aid in chosen}
    assert_same(expected, actual, "a page imported over HTTP differs from its source")
