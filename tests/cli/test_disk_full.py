"""A full disk under the SQLite file: writes answer 503 with a message saying so (never a 500),
nothing half-written, and the server works again once there is space. The disk is a real, small
tmpfs (mounting one needs root; elsewhere the test is skipped, and under CI fails)."""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.needs import unavailable
from tests.processes import start


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        unavailable(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path) -> None:
    with pytest.raises(OSError, match="No space left") as raised, path.open("wb") as out:  # noqa: PT012
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    assert raised.value.errno == errno.ENOSPC


def test_a_full_disk_is_503_with_a_message_and_the_server_recovers(small_disk: Path) -> None:
    server = start(small_disk, f"sqlite:///{small_disk / 'graphdock.sqlite3'}")
    try:
        http = httpx.Client(base_url=server.url, timeout=60)
        assert http.post("/threads", json={}).status_code == 200
        filler = small_disk / "filler"
        _fill(filler)
        statuses = []
        for n in range(20):
            r = http.post("/threads", json={"metadata": {"n": n, "pad": "p" * 200_000}})
            statuses.append(r.status_code)
            assert r.status_code in (200, 503), r.text
            if r.status_code == 503:
                assert r.json()["detail"] == "The database's disk is full; nothing was written"
        assert 503 in statuses, statuses
        stored = http.post("/threads/search", json={"limit": 100}).json()
        assert len(stored) == 1 + statuses.count(200)

        filler.unlink()
        again = http.post("/threads", json={"metadata": {"pad": "p" * 200_000}})
        assert again.status_code == 200, again.text
        http.close()
    finally:
        server.stop()
