"""Structured (JSON-lines) logging. Tokens and candidates' personal data never go into a record."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

_TOKEN = re.compile(r"xox[abpr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")
_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": _TOKEN.sub("[token]", record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exc"] = _TOKEN.sub("[token]", self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Log JSON lines to stderr at `level` (`Settings.log_level`, from LOG_LEVEL)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # At DEBUG, Bolt and slack_sdk log whole payloads (modal values, candidates' emails): keep them at INFO.
    for name in ("slack_bolt", "slack_sdk"):
        logging.getLogger(name).setLevel(logging.INFO)
