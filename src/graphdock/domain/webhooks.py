"""Delivering webhooks: one POST per finished run, in the background, retried, never redirected.

Each delivery is its own task, so a slow or dead receiver delays nothing but its own delivery:
the run worker hands the payload over and moves on. Before every attempt the URL is checked again
against the policy on freshly resolved addresses, and the connection goes to one of those checked
addresses (the Host header and TLS server name stay the URL's host), so the address checked is
the address used. Redirects are never followed. Timeouts, connection errors, failed DNS lookups
and 5xx answers are retried with exponential backoff, a bounded number of times; 4xx answers are
final, and so is a refusal by the policy.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import structlog

from graphdock.domain.webhook_policy import Target, Unresolved, WebhookPolicy
from graphdock.errors import InvalidRequest
from graphdock.storage.records import utc_now
from graphdock.storage.threads import Run

log = structlog.get_logger("graphdock.webhooks")


@dataclass(frozen=True, slots=True)
class Delivery:
    """How hard to try: attempts in all, the first retry's delay (doubled each time), per-attempt timeout."""

    attempts: int = 4
    first_delay: float = 1.0
    max_delay: float = 30.0
    timeout: float = 10.0
    # Deliveries in flight at once; more wait their turn (never the run worker).
    concurrency: int = 64


class WebhookSender:
    def __init__(
        self,
        policy: WebhookPolicy,
        headers: dict[str, str],
        *,
        disabled: bool = False,
        allowed_fields: tuple[str, ...] | None = None,
        delivery: Delivery | None = None,
    ) -> None:
        self._policy = policy
        self._headers = headers
        self._disabled = disabled
        self._allowed = allowed_fields
        self._delivery = delivery or Delivery()
        self._slots = asyncio.Semaphore(self._delivery.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._client = httpx.AsyncClient(
            follow_redirects=False, timeout=self._delivery.timeout, trust_env=False
        )

    async def check(self, url: str) -> None:
        """At creation: 422 naming the rule a run's or cron's webhook breaks."""
        await self._policy.check(url)

    def run_finished(self, started: Run, finished: Run, values: Any) -> None:
        """The run-path hook: a finished run with a webhook gets it POSTed, as the platform sends it."""
        url = finished.kwargs.get("webhook")
        if isinstance(url, str) and url:
            self.send(url, run_payload(started, finished, values))

    def send(self, url: str, payload: dict[str, Any]) -> None:
        """Queue one delivery and return at once."""
        if self._disabled:
            log.info("webhook.disabled", url=url)
            return
        payload = {**payload, "webhook_sent_at": utc_now()}
        if self._allowed is not None:
            payload = {k: v for k, v in payload.items() if k in self._allowed}
        task = asyncio.get_running_loop().create_task(self._deliver(url, orjson.dumps(payload)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self, grace_seconds: float = 5.0) -> None:
        """Give deliveries in flight a moment, then drop the rest (they are best effort)."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._client.aclose()

    async def _deliver(self, url: str, body: bytes) -> None:
        d = self._delivery
        delay = d.first_delay
        async with self._slots:
            for attempt in range(1, d.attempts + 1):
                try:
                    target = await self._policy.check(url)
                    response = await self._post(target, body)
                except Unresolved as exc:
                    outcome = exc.detail
                except InvalidRequest as exc:  # the policy changed since, or DNS now points elsewhere
                    log.warning("webhook.refused", url=url, reason=exc.detail)
                    return
                except httpx.HTTPError as exc:
                    outcome = f"{type(exc).__name__}: {exc}"
                else:
                    if response.status_code < 500:
                        level = log.info if response.status_code < 400 else log.warning
                        level("webhook.sent", url=url, status=response.status_code, attempt=attempt)
                        return
                    outcome = f"HTTP {response.status_code}"
                if attempt == d.attempts:
                    log.warning("webhook.failed", url=url, attempts=attempt, last=outcome)
                    return
                log.info("webhook.retrying", url=url, attempt=attempt, last=outcome, delay=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, d.max_delay)

    async def _post(self, target: Target, body: bytes) -> httpx.Response:
        address = target.addresses[0]
        literal = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
        pinned = target.url._replace(netloc=f"{literal}:{target.port}").geturl()
        default_port = 443 if target.url.scheme.lower() == "https" else 80
        host = target.host if target.port == default_port else f"{target.host}:{target.port}"
        headers = {**self._headers, "Host": host, "Content-Type": "application/json"}
        # TLS checks the certificate against the URL's host, not the address connected to.
        extensions = {"sni_hostname": target.host} if target.url.scheme.lower() == "https" else {}
        return await self._client.post(pinned, content=body, headers=headers, extensions=extensions)


def run_payload(started: Run, finished: Run, values: Any) -> dict[str, Any]:
    """The official payload: the run, when it started and ended, its final values, and its error."""
    payload = {
        **finished.to_wire(),
        "run_started_at": started.updated_at,  # set when the worker claimed it
        "run_ended_at": finished.updated_at,
        "values": values,
    }
    if finished.error is None:
        payload.pop("error")
    return payload
