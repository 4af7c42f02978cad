"""The oracle of the crash test: what storage must hold, given which writes were acknowledged.

Each client owns its assistants, so the writes to one assistant form a sequence and the model
knows its exact state: the snapshot of every version, the active one and the highest number ever
given (graphdock's promise: every write appends `last_version + 1`, deleted numbers are never
reused, and the active row is a copy of the active version). A write in flight when the server
died is "in doubt": after the restart storage must equal the state before it or the state after
it, nothing in between. One more assistant is PATCHed by every client at once, to have version
numbers allocated under contention; its model is `Contended`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

Json = dict[str, Any]
GRAPH = "echo"


@dataclass(frozen=True)
class Snapshot:
    """An assistant's contents, as a version row and the active row both hold them."""

    config: Json
    context: Json
    metadata: Json
    name: str
    graph_id: str = GRAPH
    description: str | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Snapshot:
        """From an API body or a database row (whatever other keys it has)."""
        keys = ("config", "context", "metadata", "name", "graph_id", "description")
        return cls(**{key: row[key] for key in keys})

    @classmethod
    def written_by(cls, op: str, worker: int, n: int) -> Snapshot:
        """What a create or PATCH from `op` stores: every field is set, so a PATCH's merge of
        metadata and mirroring of configurable into context give exactly this."""
        return cls({"configurable": {"op": op, "n": n}}, {"op": op, "n": n}, {"op": op, "worker": worker}, op)

    def body(self) -> Json:
        return {"config": self.config, "metadata": self.metadata, "name": self.name}


@dataclass(frozen=True)
class Stored:
    """One assistant as storage must hold it."""

    versions: Mapping[int, Snapshot]
    active: int
    last_version: int

    @property
    def snapshot(self) -> Snapshot:
        return self.versions[self.active]


def created(snapshot: Snapshot) -> Stored:
    return Stored({1: snapshot}, 1, 1)


def patched(before: Stored, snapshot: Snapshot) -> Stored:
    number = before.last_version + 1
    return Stored({**before.versions, number: snapshot}, number, number)


def activated(before: Stored, version: int) -> Stored:
    return replace(before, active=version)


def without_version(before: Stored, version: int) -> Stored:
    return replace(before, versions={k: v for k, v in before.versions.items() if k != version})


@dataclass(frozen=True)
class Write:
    """One request and the state of its assistant before and after it (None: no assistant);
    `snapshot` is what a create or PATCH stores."""

    assistant_id: str
    method: str
    path: str
    body: Json | None
    before: Stored | None
    after: Stored | None
    snapshot: Snapshot | None = None


@dataclass
class Model:
    """The expected state of every assistant the clients ever wrote (None once deleted)."""

    expected: dict[str, Stored | None] = field(default_factory=dict)
    in_doubt: dict[str, Write] = field(default_factory=dict)

    def acknowledged(self, write: Write) -> None:
        self.expected[write.assistant_id] = write.after

    def lost_answer(self, write: Write) -> None:
        self.in_doubt[write.assistant_id] = write

    def reconcile(self, observed: Mapping[str, Stored | None]) -> list[str]:
        """Compare with what storage holds after a restart; in-doubt writes take the side storage
        shows. Returns one line per violation."""
        problems = []
        for assistant_id, expected in self.expected.items():
            seen = observed.get(assistant_id)
            write = self.in_doubt.pop(assistant_id, None)
            allowed = [expected] if write is None else [write.before, write.after]
            if seen not in allowed:
                what = (
                    "acknowledged state" if write is None else f"before or after {write.method} {write.path}"
                )
                problems.append(f"{assistant_id}: expected the {what}:\n  {allowed}\n  storage holds {seen}")
            else:
                self.expected[assistant_id] = seen
        for assistant_id, write in self.in_doubt.items():  # creates in doubt, never acknowledged
            seen = observed.get(assistant_id)
            if seen not in (write.before, write.after):
                problems.append(f"{assistant_id}: half of {write.method} {write.path} in storage: {seen}")
            self.expected[assistant_id] = seen
        self.in_doubt.clear()
        return problems


@dataclass
class Contended:
    """The assistant every client PATCHes at once: numbers come from one counter under contention."""

    assistant_id: str
    known: dict[int, Snapshot] = field(default_factory=dict)
    in_doubt: list[Snapshot] = field(default_factory=list)

    def acknowledged(self, version: int, write: Write) -> None:
        assert write.snapshot is not None
        self.known[version] = write.snapshot

    def lost_answer(self, write: Write) -> None:
        assert write.snapshot is not None
        self.in_doubt.append(write.snapshot)

    def reconcile(self, seen: Stored | None) -> list[str]:
        """Every acknowledged version is there with its snapshot; the others are writes in doubt,
        each at most once; numbers run 1..last_version without a gap (nothing deletes here), and
        the active version is the newest (each PATCH activates the number it was given)."""
        if seen is None:
            return [f"{self.assistant_id}: the contended assistant is gone"]
        problems = [
            f"{self.assistant_id} v{n}: acknowledged {snapshot}, storage holds {seen.versions.get(n)}"
            for n, snapshot in self.known.items()
            if seen.versions.get(n) != snapshot
        ]
        extra = [seen.versions[n] for n in seen.versions if n not in self.known]
        for snapshot in extra:
            if snapshot in self.in_doubt:
                self.in_doubt.remove(snapshot)
            else:
                problems.append(f"{self.assistant_id}: a version nobody wrote, or twice: {snapshot}")
        if sorted(seen.versions) != list(range(1, seen.last_version + 1)):
            problems.append(f"{self.assistant_id}: numbers {sorted(seen.versions)}, last {seen.last_version}")
        if seen.active != seen.last_version:
            problems.append(f"{self.assistant_id}: active v{seen.active}, newest v{seen.last_version}")
        self.known = dict(seen.versions)
        self.in_doubt.clear()
        return problems
