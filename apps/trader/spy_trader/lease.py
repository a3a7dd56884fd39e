"""One active trader: only the holder of a lease sends orders.

- `KubernetesLease`: a coordination.k8s.io/v1 Lease, the object client-go's leader election
  uses. Acquire = create it, or replace it when it has expired (renewTime + duration in the
  past) or is ours; every write carries the resourceVersion read, so of two replicas racing
  for it the API server accepts one and answers 409 Conflict to the other.
- `FileLease`: locally, an exclusive `flock` on a file in the data directory; the kernel
  drops it when the process dies, so a crashed trader never blocks the next.

`held()` is what the engine asks before each order decision; it also goes False when the
last renewal is older than the lease duration (we might have lost it without knowing).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Protocol

import httpx

from .settings import LeaseSettings

_log = logging.getLogger(__name__)
_MICRO = "%Y-%m-%dT%H:%M:%S.%fZ"


class Lease(Protocol):
    def held(self) -> bool: ...

    async def run(self) -> None:
        """Acquire and keep renewing until cancelled."""
        ...

    async def release(self) -> None: ...


def identity() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class FileLease:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def held(self) -> bool:
        return self._file is not None

    def try_acquire(self) -> bool:
        if self._file is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.truncate(0)
        handle.write(identity() + "\n")
        handle.flush()
        self._file = handle
        return True

    async def run(self) -> None:
        while not self.try_acquire():
            await asyncio.sleep(1.0)
        _log.info("lease: holding the file lock %s", self.path)
        await asyncio.Event().wait()

    async def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class KubernetesLease:
    def __init__(
        self,
        settings: LeaseSettings,
        client: httpx.AsyncClient,
        holder: str | None = None,
        monotonic=time.monotonic,
    ) -> None:
        self.settings = settings
        self.client = client
        self.holder = holder or identity()
        self._monotonic = monotonic
        self._renewed_at: float | None = None
        base = f"{settings.api_url.rstrip('/')}/apis/coordination.k8s.io/v1"
        self._collection = f"{base}/namespaces/{settings.namespace}/leases"
        self._url = f"{self._collection}/{settings.name}"

    def held(self) -> bool:
        return (
            self._renewed_at is not None
            and self._monotonic() - self._renewed_at < self.settings.duration_seconds
        )

    async def try_acquire(self, now: datetime | None = None) -> bool:
        """One round: create, take over an expired lease, or renew ours. True if held."""
        now = now or datetime.now(UTC)
        response = await self.client.get(self._url)
        if response.status_code == 404:
            ok = await self._write("POST", self._collection, self._body(now, None, now, 0))
        elif response.is_success:
            lease = response.json()
            spec = lease.get("spec", {})
            mine = spec.get("holderIdentity") == self.holder
            if not mine and not _expired(spec, now):
                self._renewed_at = None
                return False
            acquired = spec.get("acquireTime") if mine else None
            transitions = spec.get("leaseTransitions", 0) + (0 if mine else 1)
            version = lease["metadata"]["resourceVersion"]
            body = self._body(now, version, _parse(acquired) or now, transitions)
            ok = await self._write("PUT", self._url, body)
        else:
            response.raise_for_status()
            ok = False
        self._renewed_at = self._monotonic() if ok else None
        return ok

    async def _write(self, method: str, url: str, body: dict) -> bool:
        response = await self.client.request(method, url, json=body)
        if response.status_code == 409:
            return False  # another replica wrote first
        response.raise_for_status()
        return True

    def _body(
        self, now: datetime, version: str | None, acquired: datetime, transitions: int
    ) -> dict:
        metadata: dict = {"name": self.settings.name, "namespace": self.settings.namespace}
        if version is not None:
            metadata["resourceVersion"] = version
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": self.holder,
                "leaseDurationSeconds": self.settings.duration_seconds,
                "acquireTime": acquired.strftime(_MICRO),
                "renewTime": now.strftime(_MICRO),
                "leaseTransitions": transitions,
            },
        }

    async def run(self) -> None:
        while True:
            was = self.held()
            try:
                await self.try_acquire()
            except httpx.HTTPError as problem:
                _log.warning("lease: API unreachable (%s)", problem)
            if self.held() != was:
                _log.warning(
                    "lease %s: %s", self.settings.name, "acquired" if self.held() else "lost"
                )
            await asyncio.sleep(self.settings.renew_seconds)

    async def release(self) -> None:
        """Give the lease up at a clean stop (expire it now) so the standby takes over at
        once instead of after the duration."""
        if not self.held():
            return
        self._renewed_at = None
        with contextlib.suppress(httpx.HTTPError, KeyError):
            response = await self.client.get(self._url)
            lease = response.json()
            if lease["spec"].get("holderIdentity") == self.holder:
                lease["spec"]["renewTime"] = (datetime.now(UTC) - timedelta(days=1)).strftime(
                    _MICRO
                )
                await self.client.put(self._url, json=lease)


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _expired(spec: dict, now: datetime) -> bool:
    renewed = _parse(spec.get("renewTime"))
    if renewed is None or not spec.get("holderIdentity"):
        return True
    return now >= renewed + timedelta(seconds=spec.get("leaseDurationSeconds") or 0)


SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def lease_for(settings: LeaseSettings, data_dir: Path) -> Lease:
    """The configured lease: in a pod, the Kubernetes Lease with the pod's service-account
    token and the cluster CA (mounted by Kubernetes); elsewhere the file lock."""
    if settings.kind == "file":
        return FileLease(data_dir / "trader.lock")
    token = (SERVICE_ACCOUNT / "token").read_text().strip()
    client = httpx.AsyncClient(
        headers={"Authorization": f"Bearer {token}"},
        verify=str(SERVICE_ACCOUNT / "ca.crt"),
        timeout=5.0,
    )
    return KubernetesLease(settings, client)
