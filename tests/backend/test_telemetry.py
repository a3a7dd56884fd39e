"""Structured logs: one JSON object a line, secrets redacted; exporter choice by settings."""

from __future__ import annotations

import io
import json
import logging

from spy_backend.telemetry import JsonFormatter, configure_telemetry, redact


def test_json_lines_with_secrets_redacted() -> None:
    record = logging.LogRecord(
        "spy",
        logging.WARNING,
        __file__,
        1,
        "auth header Bearer abc.def-123 and Endpoint=x;AccessKey=s3cr3t;Version=1.0",
        None,
        None,
    )
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "spy"
    assert "abc.def-123" not in line and "s3cr3t" not in line
    assert redact('{"accessToken": "eyJabc"}') == '{"accessToken": "[redacted]"}'


def test_no_exporter_unless_configured(settings) -> None:
    assert configure_telemetry(settings) == "none"


def test_logging_setup_writes_json(settings) -> None:
    from spy_backend.telemetry import configure_logging

    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging(settings.model_copy(update={"log_json": True}), stream)
        logging.getLogger("spy_backend.test").warning("hello")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert json.loads(stream.getvalue().splitlines()[-1])["message"] == "hello"
