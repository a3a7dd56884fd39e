"""Real peers for the backend tests: the backend as its own process on a free loopback port
(so it can be killed and restarted like a deployment), and Node helpers installed by the
Makefile (`make node-deps`) into tests/backend/node and tests/backend/azurite."""

from __future__ import annotations

import base64
import http.server
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import httpx
import pytest
from azure.core.credentials import AccessToken
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HERE = Path(__file__).parent
NODE_CLIENT_DIR = HERE / "node"
AZURITE_DIR = HERE / "azurite"
TOKEN = "test-service-token-" + "t" * 32


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def node_package(folder: Path, module: str) -> Path:
    """The folder's node_modules entry for `module`; skip without node, fail without npm ci."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    path = folder / "node_modules" / module
    if not path.exists():
        pytest.fail(f"{path} missing: run `make node-deps` (npm ci in {folder})")
    return path


class BackendProcess:
    """`python -m spy_backend` with a known token and its own data dir."""

    def __init__(self, data_dir: Path, port: int | None = None, **env: str) -> None:
        self.port = port or free_port()
        self.data_dir = data_dir
        self.env = env
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        env = (
            os.environ
            | {
                "SPY_DATA_DIR": str(self.data_dir),
                "SPY_SERVICE_TOKEN": TOKEN,
                "SPY_LOG_LEVEL": "WARNING",
            }
            | self.env
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "spy_backend", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"backend exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise TimeoutError("backend did not start")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
        self.process = None

    def post(self, records: list[dict]) -> httpx.Response:
        return httpx.post(
            f"{self.url}/api/events",
            json={"records": records},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )

    def __enter__(self) -> BackendProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def read_json_line(stream: IO[str], timeout: float, want: str) -> dict:
    """The next JSON line whose "event" is `want` (others are skipped), within `timeout`."""
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        if not selector.select(left):
            break
        line = stream.readline()
        if not line:
            raise EOFError(f"stream ended while waiting for {want!r}")
        message = json.loads(line)
        if message["event"] == want:
            return message
    raise TimeoutError(f"no {want!r} within {timeout} s")


# Azurite's published, well-known development account key: not a secret.
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


class Azurite:
    """`azurite-table` in memory on a free port: the Table service the adapter talks to.

    With `oauth`, it serves HTTPS (a throwaway self-signed certificate) and accepts bearer
    tokens as the cloud does for a managed identity: Azurite's "basic" OAuth checks the
    token's audience, issuer and times, not its signature (`token_credential`)."""

    def __init__(self, oauth: bool = False) -> None:
        node_package(AZURITE_DIR, "azurite")
        self.port = free_port()
        self.oauth = oauth
        self._folder = Path(tempfile.mkdtemp(prefix="azurite-"))
        extra: list[str] = []
        if oauth:
            cert, key = _self_signed_certificate(self._folder)
            self.certificate = cert
            extra = ["--oauth", "basic", "--cert", str(cert), "--key", str(key)]
        self.process = subprocess.Popen(
            [
                str(AZURITE_DIR / "node_modules" / ".bin" / "azurite-table"),
                "--tableHost",
                "127.0.0.1",
                "--tablePort",
                str(self.port),
                "--inMemoryPersistence",
                "--loose",
                "--skipApiVersionCheck",
                "--disableTelemetry",
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("azurite-table did not start") from None
                time.sleep(0.05)

    @property
    def endpoint(self) -> str:
        scheme = "https" if self.oauth else "http"
        return f"{scheme}://127.0.0.1:{self.port}/devstoreaccount1"

    @property
    def connection_string(self) -> str:
        return (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={AZURITE_KEY};"
            f"TableEndpoint={self.endpoint};"
        )

    @staticmethod
    def token_credential(audience: str = "https://storage.azure.com") -> _UnsignedTokens:
        return _UnsignedTokens(audience)

    def stop(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class _UnsignedTokens:
    """A TokenCredential minting unsigned JWTs with the claims Azurite's basic OAuth checks
    (an Azure AD issuer, the storage audience, a validity window)."""

    def __init__(self, audience: str) -> None:
        self.audience = audience

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        now = int(time.time())
        claims = {
            "aud": self.audience,
            "iss": "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + 3600,
        }
        token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
        return AccessToken(token, now + 3600)


def _b64(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A one-day certificate for 127.0.0.1 and its key, as PEM files in `folder`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class AppServiceIdentityEndpoint:
    """App Service's managed-identity endpoint, on loopback: what `IDENTITY_ENDPOINT` and
    `IDENTITY_HEADER` point a web app's code at. It checks the secret header and the API
    version, and answers with an unsigned token for the resource asked for (which Azurite's
    basic OAuth accepts); `requests` lists the resources it was asked for."""

    def __init__(self) -> None:
        self.secret = secrets.token_hex(16)
        self.requests: list[str] = []
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                if self.headers.get("X-IDENTITY-HEADER") != endpoint.secret:
                    self.send_error(401)
                    return
                if query.get("api-version") != ["2019-08-01"]:
                    self.send_error(400)
                    return
                resource = query["resource"][0]
                endpoint.requests.append(resource)
                token = _UnsignedTokens(resource).get_token()
                body = json.dumps(
                    {
                        "access_token": token.token,
                        "expires_on": str(token.expires_on),
                        "resource": resource,
                        "token_type": "Bearer",
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/msi/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def stop_process(
    process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10.0
) -> None:
    """Ask a child to stop with `sig`; kill it if it has not within `timeout` seconds."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
