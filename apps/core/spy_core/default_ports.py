"""The default TCP ports, named once for every command, setting and simulator."""

BACKEND_PORT = 8000  # the backend: API, hub, dashboard (http://127.0.0.1:8000)
GATEWAY_PORT = 4002  # IB Gateway's API port for a paper account (live is 4001)
