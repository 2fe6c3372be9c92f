"""General: /v1/about and /v1/health."""

from marshmallow import fields

from ..extensions import Schema


class AboutSchema(Schema):
    """What /v1/about says about the service."""

    versions = fields.List(fields.String())
    build = fields.Integer()
    mode = fields.String()
    version = fields.String()
    signal_cli = fields.String(allow_none=True, metadata={"description": "signal-cli's version (null: unknown)."})
    signal_cli_supported = fields.Boolean(
        allow_none=True,
        metadata={"description": "Whether this signal-cli can work with Signal's servers today (null: unknown)."},
    )
    signal_cli_warning = fields.String(
        allow_none=True,
        metadata={"description": "Why it cannot, and what to do (null: nothing to warn about)."},
    )
    capabilities = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class HealthQueryArgsSchema(Schema):
    """Whether to check more than that the service answers."""

    deep = fields.Boolean(load_default=False)


class HealthSchema(Schema):
    """The outcome of a deep health check."""

    status = fields.String()
    checks = fields.Dict(keys=fields.String(), values=fields.Dict())
