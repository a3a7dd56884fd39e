"""The service token the on-prem services write with: from settings (the cloud's Key Vault
reference) or, in dev, generated once into a 0600 file outside the repository, so the local
platform needs no setup and no secret ever lands in git."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from .files import private_dir
from .settings import Settings

TOKEN_FILE = "service-token"


def service_token(settings: Settings) -> str:
    if settings.service_token is not None:
        return settings.service_token.get_secret_value()
    return load_or_create(settings.data_dir / TOKEN_FILE)


def load_or_create(path: Path) -> str:
    """Read the token file, creating it (and its folder, 0700) with a fresh token if absent.
    The file is created with O_EXCL and mode 0600, so it is never readable by others, even
    for an instant, and two processes starting together agree on one token."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    private_dir(path.parent)
    token = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(token + "\n")
    return token


def _read(path: Path) -> str:
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise ValueError(f"{path} is empty: delete it to generate a new token")
    return token


def matches(presented: str, expected: str) -> bool:
    """Constant-time comparison: timing does not tell how much of a guess was right."""
    return hmac.compare_digest(presented.encode(), expected.encode())
