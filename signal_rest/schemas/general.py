"""General: /v1/about and /v1/health."""

from marshmallow import fields

from ..extensions import Schema


class AboutSchema(Schema):
    """What /v1/about says about the service."""

    versions = fields.List(fields.String())
    build = fields.Integer()
    mode = fields.String(metadata={"description": "json-rpc when GET /v1/receive is served as a websocket."})
    signal_cli_mode = fields.String(metadata={"description": "How signal-cli runs: normal or json-rpc."})
    version = fields.String(metadata={"description": "The API level: 0.100.0 or 0.101.0 (SIGNAL_REST_API_LEVEL)."})
    signal_rest = fields.String(metadata={"description": "This service's own version."})
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
