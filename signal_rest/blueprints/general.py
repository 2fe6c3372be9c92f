"""General: what the service is, and whether it is up."""

from flask import current_app

from ..config import VERSION
from ..errors import ServiceUnhealthy, health_response
from ..extensions import Blueprint, signal_cli
from ..schemas.general import AboutSchema, HealthQueryArgsSchema, HealthSchema
from .receive import receiving_in_background

blp = Blueprint("General", __name__, description="What the service is and whether it is up.")

#: what /v2/send supports, for clients that check before using a feature
CAPABILITIES = {"v2/send": ["quotes", "mentions"]}


@blp.route("/v1/about")
@blp.response(200, AboutSchema)
def about():
    """Describe the service: API versions, its API level and signal-cli's version.

    `version` is the standard API's release this service answers like (SIGNAL_REST_API_LEVEL:
    0.100.0, or 0.101.0 where POST /v2/send answers a list), `signal_rest` its own version.
    `mode` is "json-rpc" whenever messages are pushed over the websocket of GET /v1/receive
    (json-rpc mode, or normal mode with the receiver), so that clients such as signalbot and
    pysignalclirestapi use it; `signal_cli_mode` says how signal-cli runs (normal or json-rpc).

    signal-cli's version is asked once and remembered, so this never starts signal-cli per call.
    `signal_cli_supported` says whether that signal-cli can work with Signal's servers today
    (null: unknown); when it cannot, `signal_cli_warning` says why and what to do.
    """
    found = signal_cli().support()
    if found.error is not None:
        current_app.logger.warning("signal-cli version unknown: %s", found.error)
    return {
        "versions": ["v1", "v2"],
        "build": 2,
        "mode": "json-rpc" if receiving_in_background() else "normal",
        "signal_cli_mode": signal_cli().mode,
        "version": f"{current_app.config['SIGNAL_REST_API_LEVEL']}.0",
        "signal_rest": VERSION,
        "signal_cli": found.version,
        "signal_cli_supported": found.supported,
        "signal_cli_warning": found.warning,
        "capabilities": CAPABILITIES,
    }


@blp.route("/v1/health")
@blp.arguments(HealthQueryArgsSchema, location="query")
@blp.response(204, description="The service is up.")
@blp.alt_response(200, schema=HealthSchema, description="With deep=true: every check passed.")
@blp.alt_response(503, schema=HealthSchema, description="With deep=true: a check failed.")
def health(args):
    """Answer 204 while the service is up (cheap: no signal-cli run).

    With `deep=true` also check that signal-cli runs and that its config dir is writable:
    200 when both pass, 503 (saying which failed) otherwise. The signal-cli check also carries
    `supported` and `warning`, as in /v1/about: a signal-cli too old for Signal's servers still
    passes (the service works; it cannot register).
    """
    if not args["deep"]:
        return None
    checks = signal_cli().health_checks()
    if not all(check["ok"] for check in checks.values()):
        raise ServiceUnhealthy(checks)
    return health_response("ok", checks, 200)
