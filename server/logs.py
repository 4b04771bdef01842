"""Logging set-up, with secrets redacted from every line (uvicorn prints query strings, `?token=` too)."""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import unquote

from web.access_log import CURRENT

LOG_FORMATS = ("text", "json")
# Attributes a line may carry (`extra=`) that the JSON format writes as fields of their own.
_FIELDS = (
    *("user", "tenant", "event", "method", "route"),
    *("status", "duration_ms", "record", "connection", "code", "closed_by"),
)

_SECRET = re.compile(r"((?:token|password|access_token)=)[^&\s\"']+", re.IGNORECASE)
_BEARER = re.compile(r"(bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# A URL, or anything else with an escape or a parameter separator in it: a run without spaces or quotes.
_URL_LIKE = re.compile(r"[^\s\"'<>]*[%?&;][^\s\"'<>]*")
# A parameter whose name holds a secret's name, in decoded text: `?x=1&my_TOKEN=...`, `/p;password=...`.
_SECRET_PARAMETER = re.compile(
    r"((?:^|[?&;/])[^?&;=/]*(?:token|password|passwd|secret)[^?&;=/]*=)[^&;]*", re.IGNORECASE
)
_UNQUOTE_ROUNDS = 4
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def redact(text: str) -> str:
    """Secrets out of one log line, however a parameter's name is spelled or percent-encoded."""
    text = _BEARER.sub(r"\1[redacted]", _SECRET.sub(r"\1[redacted]", text))
    return _URL_LIKE.sub(_redact_url, text)


def _redact_url(match: re.Match[str]) -> str:
    # A server decodes names before it reads them, so `?%74oken=`, `?to%256Ben=` (twice encoded) and
    # `?token%3D...` carry a token as well as `?token=` does: judge the decoded text. Where a secret is
    # found the decoded, redacted form is logged (control characters escaped, so no line can be forged).
    raw = match.group(0)
    decoded = raw
    for _ in range(_UNQUOTE_ROUNDS):
        step = unquote(decoded)
        if step == decoded:
            break
        decoded = step
    cleaned = _SECRET_PARAMETER.sub(r"\1[redacted]", decoded)
    if cleaned == decoded:
        return raw
    return _CONTROL.sub(lambda c: f"\\x{ord(c.group(0)):02x}", cleaned)


class RedactSecrets(logging.Filter):
    """Formats the message once, redacted, so no handler can print the raw arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = ()
        if record.exc_info and not record.exc_text:
            # Formatters print `exc_text` when it is set: the traceback, redacted like the message.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


# Lines uvicorn writes for every WebSocket (on its logger, websockets' included): collab's own "opened" and
# "closed" lines (collab/live/serving.py) say which connection, user, record and close code, and these
# made three lines per join, each ~0.1 ms of a join's CPU through the filters above.
_WEBSOCKET_ACCEPTED = "[accepted]"  # uvicorn: '%s - "WebSocket %s" [accepted]'
_WEBSOCKET_OPEN_CLOSED = frozenset({"connection open", "connection closed"})  # websockets, for uvicorn


class RepeatedWebSocketLines(logging.Filter):
    """Leaves out uvicorn's lines for each WebSocket it accepts and closes (refusals and errors stay)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg
        return not (
            isinstance(message, str)
            and (message in _WEBSOCKET_OPEN_CLOSED or message.endswith(_WEBSOCKET_ACCEPTED))
        )


class RequestFields(logging.Filter):
    """The request being handled (web/access_log.py): its id, user and tenant, on each of its lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = CURRENT.get()
        if context is not None:
            record.request_id = context.request_id
            if getattr(record, "user", None) is None:
                record.user, record.tenant = context.user, context.tenant
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line. Every string in it is redacted again, whatever field it came in by: the
    filter has cleaned the message and the traceback, but `extra=` fields are the caller's."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            line["request_id"] = request_id
        for name in _FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(_redacted(line), default=str)


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    return value


def log_config(level: str = "INFO", log_format: str = "text") -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn and collab alike; the filters sit on every handler.

    In the JSON format uvicorn's access line is left out: collab's own (web/access_log.py) says more. A
    WebSocket's join is one line, collab's (uvicorn's "[accepted]" and "connection open" are left out)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"the log format is one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    json_lines = log_format == "json"
    access_level = "WARNING" if json_lines else level
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request": {"()": RequestFields},
            "redact": {"()": RedactSecrets},
            "repeated_websocket_lines": {"()": RepeatedWebSocketLines},
        },
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            "json": {"()": JsonFormatter},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json_lines else "plain",
                "filters": ["request", "redact"],
                "stream": "ext://sys.stderr",
            },
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {
                "handlers": [],
                "level": level,
                "propagate": True,
                "filters": ["repeated_websocket_lines"],
            },
            "uvicorn.access": {"handlers": [], "level": access_level, "propagate": True},
        },
    }
