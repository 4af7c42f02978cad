"""The LangGraph guide "How to version Assistants", verbatim with the official Python SDK and curl."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError

from tests.conftest import GUIDE_V1, GUIDE_V2, RunningServer


async def test_guide_walkthrough_with_the_python_sdk(client: LangGraphClient) -> None:
    a = await client.assistants.create("agent", config=GUIDE_V1, name="Open AI Assistant")
    assert a["version"] == 1
    assert a["name"] == "Open AI Assistant"

    v2 = await client.assistants.update(a["assistant_id"], config=GUIDE_V2)
    assert v2["version"] == 2
    assert v2["config"] == GUIDE_V2
    assert v2["context"] == GUIDE_V2["configurable"], "configurable is mirrored into context"
    assert v2["name"] == "Open AI Assistant", "omitted fields are kept"

    versions = await client.assistants.get_versions(a["assistant_id"])
    assert [v["version"] for v in versions] == [2, 1]
    assert [v["config"] for v in versions] == [GUIDE_V2, GUIDE_V1]

    rolled_back = await client.assistants.set_latest(a["assistant_id"], 1)
    assert rolled_back["version"] == 1
    assert rolled_back["config"] == GUIDE_V1
    assert rolled_back["context"] == GUIDE_V1["configurable"], "the whole snapshot is restored"
    fetched = await client.assistants.get(a["assistant_id"])
    assert (fetched["version"], fetched["config"], fetched["context"]) == (
        1,
        GUIDE_V1,
        GUIDE_V1["configurable"],
    )

    await client.assistants.delete(a["assistant_id"])
    with pytest.raises(NotFoundError, match="not found"):
        await client.assistants.get(a["assistant_id"])
    with pytest.raises(NotFoundError):
        await client.assistants.get_versions(a["assistant_id"])


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_guide_walkthrough_with_curl(server: RunningServer) -> None:
    def curl(method: str, path: str, data: object | None = None) -> dict[str, object]:
        # As the guide writes it: --request, --url, a JSON content type and --data.
        cmd = [
            "curl",
            "-sS",
            "--fail-with-body",
            "--request",
            method,
            "--url",
            server.url + path,
            "--header",
            "Content-Type: application/json",
        ]
        if data is not None:
            cmd += ["--data", json.dumps(data)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        parsed: dict[str, object] = json.loads(out)
        return parsed

    a = curl("POST", "/assistants", {"graph_id": "agent", "config": GUIDE_V1, "name": "Open AI Assistant"})
    aid = a["assistant_id"]
    # The guide's curl example sends the configurable keys at the top of `config`; they are kept verbatim.
    v2 = curl(
        "PATCH",
        f"/assistants/{aid}",
        {"config": {"model_name": "openai", "system_prompt": "You are an unhelpful assistant!"}},
    )
    assert v2["version"] == 2
    assert v2["config"] == {"model_name": "openai", "system_prompt": "You are an unhelpful assistant!"}
    v1 = curl("POST", f"/assistants/{aid}/latest", {"version": 1})
    assert (v1["version"], v1["config"]) == (1, GUIDE_V1)
    # curl without a content type sends form encoding; the body is still read as JSON.
    out = subprocess.run(
        ["curl", "-sS", "-X", "POST", server.url + f"/assistants/{aid}/versions", "-d", "{}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert [v["version"] for v in json.loads(out)] == [2, 1]
