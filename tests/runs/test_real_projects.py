"""What real LangGraph projects hit (issue 17): each case through a real server and the official SDK.

`template` is laid out like LangChain's `new-langgraph-project`: a TypedDict context whose one key
is required in JSON-Schema terms but read with `.get()`, and an `env` file that does not exist.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import UnprocessableEntityError

from tests.conftest import TESTS, RunningServer

TEMPLATE = TESTS / "graphs" / "template" / "langgraph.json"


@pytest.fixture(scope="module")
def template_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    from tests.conftest import serve, settings_for

    with serve(settings_for(tmp_path_factory.mktemp("template") / "graphdock.sqlite3", TEMPLATE)) as running:
        yield running


@pytest.fixture
async def template(template_server: RunningServer) -> AsyncIterator[LangGraphClient]:
    sdk = get_client(url=template_server.url)
    yield sdk
    await sdk.aclose()


# -- 1: a TypedDict context's missing key is no error -------------------------------------------


async def test_the_templates_default_assistant_runs_without_context(template: LangGraphClient) -> None:
    result = await template.runs.wait(None, "agent", input={"changeme": "hi"})
    assert result == {"changeme": "output from call_model. Configured with None"}
    thread = await template.threads.create()
    streamed = [
        part.data
        async for part in template.runs.stream(thread["thread_id"], "agent", input={}, stream_mode="values")
        if part.event == "values"
    ]
    assert streamed[-1] == {"changeme": "output from call_model. Configured with None"}


async def test_the_templates_context_reaches_the_graph(template: LangGraphClient) -> None:
    result = await template.runs.wait(None, "agent", input={}, context={"my_configurable_param": "x"})
    assert result == {"changeme": "output from call_model. Configured with x"}
    assistant = await template.assistants.create("agent", context={"my_configurable_param": "from-assistant"})
    result = await template.runs.wait(None, assistant["assistant_id"], input={})
    assert result == {"changeme": "output from call_model. Configured with from-assistant"}


async def test_a_wrong_type_in_a_typeddict_context_is_still_422(template: LangGraphClient) -> None:
    thread = await template.threads.create()
    with pytest.raises(UnprocessableEntityError) as caught:
        await template.runs.create(
            thread["thread_id"], "agent", input={}, context={"my_configurable_param": 5}
        )
    assert "context.my_configurable_param" in caught.value.response.json()["detail"]
    assert await template.runs.list(thread["thread_id"]) == [], "nothing was queued"
    with pytest.raises(UnprocessableEntityError) as caught:
        await template.assistants.create("agent", context={"my_configurable_param": 5})
    assert "my_configurable_param" in caught.value.response.json()["detail"]


async def test_a_context_langgraph_must_build_is_still_refused_when_it_cannot_be(
    client: LangGraphClient,
) -> None:
    # `dataclass` (a dataclass context) requires api_key; `agent` (pydantic) requires system_prompt:
    # LangGraph builds both from the dict, which fails without them. A wrong enum value too.
    for graph_id, field in (("dataclass", "api_key"), ("agent", "system_prompt")):
        with pytest.raises(httpx.HTTPStatusError) as caught:
            await client.runs.wait(None, graph_id, input={"text": "t", "messages": []})
        assert caught.value.response.status_code == 422, caught.value.response.text
        assert field in caught.value.response.json()["detail"]
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await client.runs.wait(
            None, "dataclass", input={"text": "t"}, context={"api_key": "k", "region": "mars"}
        )
    assert caught.value.response.status_code == 422
    assert "context.region" in caught.value.response.json()["detail"]
    ok = await client.runs.wait(None, "dataclass", input={"text": "t"}, context={"api_key": "k"})
    assert ok["steps"] == ["data"]


async def test_the_typeddict_test_graph_runs_without_its_required_key(client: LangGraphClient) -> None:
    result = await client.runs.wait(None, "uncompiled", input={"text": "t"})
    assert result == {"text": "t", "steps": ["typed"]}


# -- 6: a run from an explicit checkpoint moves the thread record on ---------------------------


async def test_resuming_from_an_explicit_checkpoint_updates_the_thread_and_the_result(
    client: LangGraphClient,
) -> None:
    # useStream resumes an interrupt by naming the checkpoint it saw.
    tid = (await client.threads.create())["thread_id"]
    paused = await client.runs.wait(tid, "interrupting", input={"text": "q"})
    assert paused["steps"] == ["before"]
    seen = await client.threads.get_state(tid)
    resumed = await client.runs.wait(
        tid, "interrupting", command={"resume": "yes"}, checkpoint=seen["checkpoint"]
    )
    done = {"text": "q", "steps": ["before", "answer:yes", "after"]}
    assert resumed == done
    thread = await client.threads.get(tid)
    assert (thread["status"], thread["values"], thread["interrupts"]) == ("idle", done, {})
    assert (await client.threads.get_state(tid))["values"] == done
    # The same by checkpoint_id alone.
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "interrupting", input={"text": "r"})
    seen = await client.threads.get_state(tid)
    resumed = await client.runs.wait(
        tid, "interrupting", command={"resume": "no"}, checkpoint_id=seen["checkpoint"]["checkpoint_id"]
    )
    assert resumed == {"text": "r", "steps": ["before", "answer:no", "after"]}
    assert (await client.threads.get(tid))["status"] == "idle"


# -- 7: join_stream(last_event_id="-1") replays a finished resumable run -------------------------


async def test_join_stream_from_minus_one_replays_a_finished_resumable_run_from_its_start(
    client: LangGraphClient,
) -> None:
    tid = (await client.threads.create())["thread_id"]
    parts = [
        p
        async for p in client.runs.stream(
            tid, "echo", input={"text": "x"}, stream_mode=["values", "updates"], stream_resumable=True
        )
    ]
    run_id = parts[0].data["run_id"]
    assert (await client.runs.join(tid, run_id)) == {"text": "x", "steps": ["echo"]}
    replayed = [p async for p in client.runs.join_stream(tid, run_id, last_event_id="-1")]
    assert [(p.event, p.data, p.id) for p in replayed] == [(p.event, p.data, p.id) for p in parts]
    assert replayed[0].id == "1"
    # Not resumable: nothing is kept to replay.
    parts = [p async for p in client.runs.stream(tid, "echo", input={"text": "y"})]
    gone = [p async for p in client.runs.join_stream(tid, parts[0].data["run_id"], last_event_id="-1")]
    assert gone == []
