"""A minimal local stand-in of the Kubernetes Lease API (coordination.k8s.io/v1): get,
create and replace, with resourceVersion optimistic concurrency (409 Conflict on a stale
version or an existing name), served over real HTTP. No API server exists here."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

_PATH = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"


def lease_api() -> FastAPI:
    app = FastAPI()
    leases: dict[tuple[str, str], dict] = {}
    version = [0]

    def stored(body: dict, namespace: str) -> dict:
        version[0] += 1
        body["metadata"]["resourceVersion"] = str(version[0])
        body["metadata"]["namespace"] = namespace
        leases[(namespace, body["metadata"]["name"])] = body
        return body

    @app.get(_PATH + "/{name}")
    def get(namespace: str, name: str):
        found = leases.get((namespace, name))
        if found is None:
            return JSONResponse({"kind": "Status", "reason": "NotFound"}, 404)
        return found

    @app.post(_PATH)
    async def create(namespace: str, request: Request):
        body = await request.json()
        if (namespace, body["metadata"]["name"]) in leases:
            return JSONResponse({"kind": "Status", "reason": "AlreadyExists"}, 409)
        return JSONResponse(stored(body, namespace), 201)

    @app.put(_PATH + "/{name}")
    async def replace(namespace: str, name: str, request: Request):
        body = await request.json()
        current = leases.get((namespace, name))
        if current is None:
            return JSONResponse({"kind": "Status", "reason": "NotFound"}, 404)
        if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            return JSONResponse({"kind": "Status", "reason": "Conflict"}, 409)
        return stored(body, namespace)

    return app


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(lease_api(), host="127.0.0.1", port=0, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
