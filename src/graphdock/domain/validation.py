"""Write-time checks of assistants' config and context against their graph's JSON Schemas."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from graphdock.errors import InvalidRequest


class SchemaValidators:
    """Compiled validators, one per schema object (graph schemas live as long as the process)."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[dict[str, Any], Draft202012Validator]] = {}

    def check(self, checks: Iterable[tuple[str, Any, dict[str, Any] | None]]) -> None:
        """Raise InvalidRequest naming the first wrong field among (path, value, schema) triples.

        Missing required fields are not errors here: the schema describes what a *run* needs, and
        a run may supply them in its own config or context.
        """
        for path, value, schema in checks:
            if not schema:
                continue
            error = next(
                (e for e in self._validator(schema).iter_errors(value) if not _only_missing(e)), None
            )
            if error is not None:
                where = ".".join([path, *(str(p) for p in error.absolute_path)])
                raise InvalidRequest(f"{where}: {error.message}")

    def _validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        cached = self._cache.get(id(schema))
        if cached is None or cached[0] is not schema:
            cached = (schema, Draft202012Validator(schema))
            self._cache[id(schema)] = cached
        return cached[1]


def _only_missing(error: ValidationError) -> bool:
    if error.validator == "required":
        return True
    # A composite (anyOf/oneOf/allOf) fails only because of missing fields in its branches.
    return bool(error.context) and all(_only_missing(e) for e in error.context)
