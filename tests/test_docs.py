"""The docs keep up with the code: every setting is in the README, every route on the compatibility page."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from graphdock.api.endpoints import Endpoint
from graphdock.app import API
from graphdock.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMPATIBILITY = (ROOT / "docs" / "compatibility.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(Settings) if f.name != "reload"])
def test_every_setting_is_documented_with_its_flag_and_variable(field: str) -> None:
    assert f"`{ENV_PREFIX}{field.upper()}`" in README, f"{ENV_PREFIX}{field.upper()} is not in the README"
    assert f"`--{field.replace('_', '-')}`" in README, f"--{field.replace('_', '-')} is not in the README"


@pytest.mark.parametrize("endpoint", API, ids=lambda e: f"{e.method} {e.path}")
def test_every_route_is_on_the_compatibility_page(endpoint: Endpoint) -> None:
    route = f"{endpoint.method} {endpoint.path}"
    assert route in COMPATIBILITY, f"{route} is not on docs/compatibility.md"
