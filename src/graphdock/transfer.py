"""`graphdock assistants export|import`: whole histories between servers, over their HTTP API.

Going through the API (not the database file) means the same two commands move assistants
between any two graphdock servers, whatever backend each runs on. Export reads pages of
`POST /assistants/export`; import first sends every batch as a dry run, so a conflict anywhere in
the file stops the import before anything is written, then writes batch by batch. Each batch is
one transaction and import is idempotent, so an interrupted import can simply be run again.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
from tqdm import tqdm

from graphdock.errors import CommandError
from graphdock.schemas.transfer import EXPORT_FORMAT


def export_assistants(
    url: str,
    output: Path | None,
    assistant_ids: Sequence[str] | None,
    page_size: int,
    api_key: str | None = None,
) -> int:
    """Write the export to `output` (standard output when None) once every page has arrived."""
    if output is not None and not output.parent.is_dir():
        raise CommandError(f"--output {output}: the folder {output.parent} does not exist")
    assistant_ids = list(dict.fromkeys(assistant_ids)) if assistant_ids else None
    with _client(url, api_key) as http:
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
    if assistant_ids and (missing := sorted(set(assistant_ids) - {a["assistant_id"] for a in assistants})):
        raise CommandError(f"no such assistant on {url}: {', '.join(missing)}; nothing was written")
    text = orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"--output {output}: {exc.strerror}") from exc
    print(f"graphdock: exported {len(assistants)} assistants", file=sys.stderr)
    return 0


def import_assistants(
    url: str, path: Path, batch_size: int, dry_run: bool, api_key: str | None = None
) -> int:
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise CommandError(f"{path}: cannot read it as JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise CommandError(f"{path}: not a graphdock export (expected format {EXPORT_FORMAT!r})")
    assistants = document.get("assistants")
    if not isinstance(assistants, list) or not all(isinstance(a, dict) for a in assistants):
        raise CommandError(f"{path}: 'assistants' must be a list of exported assistants")
    counts = Counter(str(a.get("assistant_id")) for a in assistants)
    if repeated := sorted(i for i, n in counts.items() if n > 1):
        # Checked here because batches are checked one by one: a repeat across two batches would
        # pass both checks and then half-import.
        raise CommandError(f"{path}: these assistants appear more than once: {', '.join(repeated)}")
    batches = [assistants[i : i + batch_size] for i in range(0, len(assistants), batch_size)]
    created = replaced = unchanged = 0
    with _client(url, api_key) as http:
        for phase in ("check", "import") if not dry_run else ("check",):
            problems: list[str] = []
            with tqdm(total=len(assistants), unit="assistant", desc=phase, file=sys.stderr) as bar:
                for batch in batches:
                    body = {"format": EXPORT_FORMAT, "assistants": batch, "dry_run": phase == "check"}
                    try:
                        report = _call(http, "POST", "/assistants/import", body)
                    except CommandError as exc:
                        if phase == "import":
                            raise
                        problems.append(str(exc))  # keep checking: report every conflict at once
                        continue
                    finally:
                        bar.update(len(batch))
                    if phase == "import" or dry_run:
                        created += len(report["created"])
                        replaced += len(report["replaced"])
                        unchanged += len(report["unchanged"])
            if problems:
                raise CommandError("nothing was imported:\n" + "\n".join(problems))
    verb = "would create" if dry_run else "created"
    print(
        f"graphdock: {verb} {created} assistants, {unchanged} already present (identical, or untouched "
        f"defaults), replaced {replaced} untouched default assistants",
        file=sys.stderr,
    )
    return 0


def _client(url: str, api_key: str | None) -> httpx.Client:
    # x-api-key, as the SDKs send it: a server with built-in keys (or custom auth reading it).
    return httpx.Client(base_url=url, timeout=120, headers={"x-api-key": api_key} if api_key else None)


def _call(http: httpx.Client, method: str, path: str, body: dict[str, Any]) -> Any:
    try:
        response = http.request(
            method, path, content=orjson.dumps(body), headers={"content-type": "application/json"}
        )
    except httpx.TransportError as exc:
        raise CommandError(
            f"cannot reach {http.base_url}: {exc} (is graphdock serving there? see --url)"
        ) from exc
    try:
        payload = response.json()
    except ValueError:
        raise CommandError(
            f"{http.base_url} answered {method} {path} with something that is not JSON"
        ) from None
    if response.status_code == 413:
        raise CommandError(
            f"{method} {path}: the server refused a request this large (413). Lower --batch-size, or raise "
            "the target server's --max-body-bytes if a single assistant's history is larger than it"
        )
    if response.status_code >= 400:
        detail = payload.get("detail", payload) if isinstance(payload, dict) else payload
        raise CommandError(f"{method} {path} answered {response.status_code}: {detail}")
    return payload
