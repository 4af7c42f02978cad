"""What changed between two versions of an assistant, field by field and path by path.

Objects are compared key by key, recursively, so a change deep inside `config.configurable`
shows as that one path. Anything else (strings, numbers, arrays) is compared as a whole value:
an array that changed is one "changed" entry with both arrays, which keeps paths stable when items
move. Long text is left whole too; a client that wants a line diff of a prompt has both strings.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from graphdock.storage.records import Snapshot

# The order fields appear in a diff: what runs, then how, then the labels.
FIELDS = ("graph_id", "config", "context", "metadata", "name", "description")


class FieldChange(TypedDict):
    field: str
    # Keys below the field; [] when the field's value changed as a whole.
    path: list[str]
    kind: Literal["added", "removed", "changed"]
    # Absent for "added" (old) and "removed" (new).
    old: NotRequired[Any]
    new: NotRequired[Any]


def diff_snapshots(old: Snapshot, new: Snapshot) -> list[FieldChange]:
    changes: list[FieldChange] = []
    for name in FIELDS:
        _diff(name, [], getattr(old, name), getattr(new, name), changes)
    return changes


def _diff(name: str, path: list[str], old: Any, new: Any, out: list[FieldChange]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            if key not in new:
                out.append(_change(name, [*path, key], "removed", old=old[key]))
            elif key not in old:
                out.append(_change(name, [*path, key], "added", new=new[key]))
            else:
                _diff(name, [*path, key], old[key], new[key], out)
    elif not _equal(old, new):
        out.append(_change(name, path, "changed", old=old, new=new))


def _change(
    name: str, path: list[str], kind: Literal["added", "removed", "changed"], **values: Any
) -> FieldChange:
    change = FieldChange(field=name, path=path, kind=kind)
    if "old" in values:
        change["old"] = values["old"]
    if "new" in values:
        change["new"] = values["new"]
    return change


def _equal(a: Any, b: Any) -> bool:
    # JSON equality: true is not 1, 1 is 1.0.
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b
