"""Configuration: the log level and each account's trust mode."""

import marshmallow as ma
from marshmallow import fields, validate

from ..extensions import Schema
from . import (
    shorten,
)

LOG_LEVELS = {
    "debug": "DEBUG",
    "info": "INFO",
    "warn": "WARNING",
    "warning": "WARNING",
    "error": "ERROR",
    "critical": "CRITICAL",
}
TRUST_MODES = ("on-first-use", "always", "never")


class LogLevel(fields.String):
    """A log level name, case-insensitive; deserialises to Python's name (``WARNING``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        level = LOG_LEVELS.get(text.strip().lower())
        if level is None:
            raise ma.ValidationError(f"'{shorten(text)}' is not a log level; use one of {', '.join(LOG_LEVELS)}.")
        return level


class LoggingSchema(Schema):
    """The logging part of the configuration."""

    level = LogLevel(required=True)

    @ma.pre_load
    def accept_capitalised_key(self, data, **kwargs):
        """The seed API spells the key ``Level``."""
        if isinstance(data, dict) and "level" not in data and "Level" in data:
            data = {**data, "level": data["Level"]}
        return data


class ConfigurationSchema(Schema):
    """The service's run-time configuration."""

    logging = fields.Nested(LoggingSchema, required=True)


class TrustModeSchema(Schema):
    """How new identity keys of an account's contacts are trusted."""

    trust_mode = fields.String(required=True, validate=validate.OneOf(TRUST_MODES))
