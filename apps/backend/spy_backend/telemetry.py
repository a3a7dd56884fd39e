"""Telemetry: structured JSON logs, and OpenTelemetry traces, metrics and logs exported to
Application Insights (`azure-monitor-opentelemetry`) when its connection string is set, to
an OTLP collector when an endpoint is set, to the console when asked, else nowhere.

Providers are process-global, so they are configured once by the process entry points
(`spy-backend`, `spy-platform up`), never by `create_app` (tests build many apps).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from .settings import Settings

# Belt and braces: even if a message quotes a header, the token does not reach the logs.
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
_SIGNATURE = re.compile(r"(?i)(accesskey=|sig=|accesstoken[\"']?\s*[:=]\s*[\"']?)[^;&\s\"']+")


def redact(text: str) -> str:
    return _SIGNATURE.sub(r"\1[redacted]", _BEARER.sub(r"\1[redacted]", text))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, and trace ids when a span
    is active (so App Insights / Loki join logs to traces)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        trace_id = getattr(record, "otelTraceID", None)
        if trace_id and trace_id != "0":
            entry["trace_id"] = trace_id
            entry["span_id"] = getattr(record, "otelSpanID", None)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(settings: Settings, stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    if settings.log_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)


def configure_telemetry(settings: Settings) -> str:
    """Set the global OpenTelemetry providers; return which exporter was chosen."""
    if settings.applicationinsights_connection_string is not None:
        from azure.monitor.opentelemetry import configure_azure_monitor

        configure_azure_monitor(
            connection_string=settings.applicationinsights_connection_string.get_secret_value(),
            instrumentation_options={"fastapi": {"enabled": False}},  # instrument_app does it
        )
        return "azure-monitor"
    if settings.otlp_endpoint or settings.telemetry_console:
        _configure_sdk(settings.otlp_endpoint)
        return "otlp" if settings.otlp_endpoint else "console"
    return "none"


def _configure_sdk(otlp_endpoint: str | None) -> None:
    from opentelemetry import metrics, trace
    from opentelemetry._logs import set_logger_provider
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, ConsoleLogRecordExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        spans, metric_out, log_out = OTLPSpanExporter(), OTLPMetricExporter(), OTLPLogExporter()
    else:
        spans, metric_out, log_out = (
            ConsoleSpanExporter(),
            ConsoleMetricExporter(),
            ConsoleLogRecordExporter(),
        )
    resource = Resource.create({"service.name": "spy-backend"})
    tracer = TracerProvider(resource=resource)
    tracer.add_span_processor(BatchSpanProcessor(spans))
    trace.set_tracer_provider(tracer)
    metrics.set_meter_provider(
        MeterProvider(resource=resource, metric_readers=[PeriodicExportingMetricReader(metric_out)])
    )
    logs = LoggerProvider(resource=resource)
    logs.add_log_record_processor(BatchLogRecordProcessor(log_out))
    set_logger_provider(logs)
    logging.getLogger().addHandler(LoggingHandler(logger_provider=logs))


def instrument_app(app: FastAPI) -> None:
    """Server spans per request (no-op until a provider is configured); /health and /metrics
    are probes, not traffic worth tracing."""
    FastAPIInstrumentor.instrument_app(app, excluded_urls="health,ready,metrics")
