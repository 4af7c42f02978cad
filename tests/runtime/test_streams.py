"""A run's stream past its memory bound: live followers still get every event in order, a late or
reconnecting one resumes at the oldest kept event, and what is kept stays near the bound."""

from __future__ import annotations

import asyncio

from graphdock.runtime.streams import RunStream


async def test_a_slow_follower_gets_every_event_while_the_rest_are_dropped() -> None:
    stream = RunStream(max_kept_bytes=1000)
    got: list[int] = []

    async def slow() -> None:
        async for event in stream.follow(0):
            got.append(event.id)
            await asyncio.sleep(0)

    follower = asyncio.create_task(slow())
    await asyncio.sleep(0)
    for _ in range(50):
        stream.publish("values", b"x" * 100)  # 5,000 bytes in all, faster than it reads
    stream.close()
    await follower
    assert got == list(range(1, 51))
    assert sum(len(e.data) for e in stream.events) <= 1000

    late = [e.id async for e in stream.follow(0)]
    assert late == list(range(41, 51))  # the kept tail, from the oldest kept event
    assert [e.id async for e in stream.follow(49)] == [50]
