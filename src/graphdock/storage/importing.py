"""What every backend's import does with the domain's decisions: refuse all, or report what it did."""

from __future__ import annotations

from collections.abc import Sequence

from graphdock.errors import Conflict
from graphdock.storage.base import ImportOutcome, ImportReport
from graphdock.storage.records import AssistantHistory

Plan = Sequence[tuple[AssistantHistory, ImportOutcome]]


def refuse_conflicts(plan: Plan) -> None:
    """All or nothing: one conflict anywhere and nothing is written."""
    conflicts = [h.assistant.assistant_id for h, outcome in plan if outcome == "conflict"]
    if conflicts:
        raise Conflict(
            f"{len(conflicts)} assistant(s) already exist here with a different history; nothing was "
            f"imported. Delete them first or leave them out: {', '.join(conflicts)}"
        )


def report(plan: Plan) -> ImportReport:
    def ids(kind: ImportOutcome) -> tuple[str, ...]:
        return tuple(h.assistant.assistant_id for h, outcome in plan if outcome == kind)

    return ImportReport(created=ids("create"), replaced=ids("replace"), unchanged=ids("unchanged"))
