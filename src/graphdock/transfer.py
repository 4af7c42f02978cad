"""`graphdock assistants export|import`: whole histories between servers, over their HTTP API.

Going through the API (not the database file) means the same two commands move assistants
between any two graphdock servers, whatever backend each runs on. Export reads pages of
`POST /assistants/export`; import first sends every batch as a dry run, so a conflict anywhere in
the file stops the import before anything is written, then writes batch by batch. Each batch is
one transaction and import is idempotent, so an interrupted import can simply be run again.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
from tqdm import tqdm

from graphdock.errors import CommandError
from graphdock.schemas.transfer import EXPORT_FORMAT


def export_assistants(
    url: str, output: Path | None, assistant_ids: Sequence[str] | None, page_size: int
) -> int:
    """Write the export to `output` (standard output when None) once every page has arrived."""
    with _client(url) as http:
        total = len(assistant_ids) if assistant_ids else _call(http, "POST", "/assistants/count", {})
        assistants: list[Any] = []
        offset: int | None = 0
        with tqdm(total=total, unit="assistant", desc="export", file=sys.stderr) as bar:
            while offset is not None:
                body = {"limit": page_size, "offset": offset, "assistant_ids": assistant_ids or None}
                page = _call(http, "POST", "/assistants/export", body)
                assistants += page["assistants"]
                bar.update(len(page["assistants"]))
                offset = page["next"]
        document = {"format": EXPORT_FORMAT, "exported_at": page["exported_at"], "assistants": assistants}
    text = orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
    print(f"graphdock: exported {len(assistants)} assistants", file=sys.stderr)
    return 0


def import_assistants(url: str, path: Path, batch_size: int, dry_run: bool) -> int:
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise CommandError(f"{path}: cannot read it as JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise CommandError(f"{path}: not a graphdock export (expected format {EXPORT_FORMAT!r})")
    assistants: list[Any] = document.get("assistants") or []
    batches = [assistants[i : i + batch_size] for i in range(0, len(assistants), batch_size)]
    created = unchanged = 0
    with _client(url) as http:
        for phase in ("check", "import") if not dry_run else ("check",):
            with tqdm(total=len(assistants), unit="assistant", desc=phase, file=sys.stderr) as bar:
                for batch in batches:
                    body = {"format": EXPORT_FORMAT, "assistants": batch, "dry_run": phase == "check"}
                    report = _call(http, "POST", "/assistants/import", body)
                    if phase == "import" or dry_run:
                        created += len(report["created"])
                        unchanged += len(report["unchanged"])
                    bar.update(len(batch))
    verb = "would create" if dry_run else "created"
    print(
        f"graphdock: {verb} {created} assistants, {unchanged} already present and identical", file=sys.stderr
    )
    return 0


def _client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=120)


def _call(http: httpx.Client, method: str, path: str, body: dict[str, Any]) -> Any:
    try:
        response = http.request(
            method, path, content=orjson.dumps(body), headers={"content-type": "application/json"}
        )
    except httpx.TransportError as exc:
        raise CommandError(
            f"cannot reach {http.base_url}: {exc} (is graphdock serving there? see --url)"
        ) from exc
    if response.status_code >= 400:
        try:
            detail = response.json()["detail"]
        except (ValueError, KeyError, TypeError):
            detail = response.text
        raise CommandError(f"{method} {path} answered {response.status_code}: {detail}")
    return response.json()
