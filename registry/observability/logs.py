"""Structured logs: JSON lines in production, readable lines in a terminal, a request id on each.

``--log-format`` (``REGISTRY_LOG_FORMAT``) chooses: ``json`` (one JSON object a line: ``time``,
``level``, ``logger``, ``message``, ``request_id`` when the line was logged while handling a
request, ``exception`` when there is one), ``console`` (``time level logger [request id]
message``), or ``auto``: ``console`` when stderr is a terminal, else ``json``.

The request id of the request being handled lives in :data:`request_id_var` (set by
:class:`registry.http.observe.ObserveMiddleware`); a log record factory installed by
:func:`install_request_id_factory` copies it onto every record when the record is created, in
the task that logs, so it survives Litestar's queue handler and granian's threads.

What is never logged: key material (the settings' ``repr`` hides the signing key and the operator
token; messages about keys name files, not contents) and request bodies.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar
from typing import IO, Any

from registry.config.settings import LOG_FORMATS

__all__ = [
    "LOG_FORMATS",
    "ConsoleFormatter",
    "JsonFormatter",
    "announce",
    "granian_log_config",
    "install_request_id_factory",
    "request_id_var",
    "resolve_log_format",
]


request_id_var: ContextVar[str | None] = ContextVar("registry_request_id", default=None)
"""The id of the request the current task is handling (None outside a request)."""

_BASE_FACTORY = logging.getLogRecordFactory()


def _record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _BASE_FACTORY(*args, **kwargs)
    record.request_id = request_id_var.get()
    return record


def install_request_id_factory() -> None:
    """Make every log record carry ``request_id`` (idempotent; process-wide, like logging)."""
    if logging.getLogRecordFactory() is not _record_with_request_id:
        logging.setLogRecordFactory(_record_with_request_id)


def resolve_log_format(log_format: str, stream: IO[str] | None = None) -> str:
    """``json`` or ``console`` for a ``--log-format`` value (``auto``: console on a TTY).

    Raises:
        ValueError: ``log_format`` is not one of :data:`LOG_FORMATS`.
    """
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}: {log_format!r}")
    if log_format != "auto":
        return log_format
    stream = sys.stderr if stream is None else stream
    try:
        return "console" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # a closed or exotic stream
        return "json"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (RFC 3339, UTC), level, logger, message, request id."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one line of JSON (never raises on odd arguments)."""
        line: dict[str, Any] = {
            "time": _rfc3339(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            line["request_id"] = request_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


class ConsoleFormatter(logging.Formatter):
    """``2025-01-02 03:04:05 INFO    registry.node [id] message``, for people at a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s%(rid)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` with its request id in brackets, when there is one."""
        request_id = getattr(record, "request_id", None)
        record.rid = f" [{request_id}]" if request_id else ""
        return super().format(record)


def formatter_factory(log_format: str) -> dict[str, str]:
    """A ``logging.config.dictConfig`` formatter entry for ``json`` or ``console``."""
    name = "JsonFormatter" if log_format == "json" else "ConsoleFormatter"
    return {"()": f"registry.observability.logs.{name}"}


def granian_log_config(log_format: str) -> dict[str, Any]:
    """``log_dictconfig`` for granian: its server and access lines in the node's format, on
    stderr (granian's default is stdout)."""
    formatter = formatter_factory(resolve_log_format(log_format))
    stream = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"generic": formatter, "access": formatter},
        "handlers": {
            "console": {**stream, "formatter": "generic"},
            "access": {**stream, "formatter": "access"},
        },
    }


def announce(log_format: str, message: str, stream: IO[str] | None = None) -> None:
    """Print one start-up line on stderr: as is on a console, a JSON log line otherwise (so
    that a JSON log stays parseable from its first line)."""
    stream = sys.stderr if stream is None else stream
    if resolve_log_format(log_format, stream) == "json":
        record = logging.makeLogRecord(
            {"name": "registry.cli", "levelname": "INFO", "msg": message}
        )
        message = JsonFormatter().format(record)
    print(message, file=stream, flush=True)


def _rfc3339(created: float) -> str:
    seconds = int(created)
    millis = int((created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"
