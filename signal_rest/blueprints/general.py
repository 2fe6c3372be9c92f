"""General: what the service is, and whether it is up."""

from flask import current_app

from ..config import VERSION
from ..errors import ServiceUnhealthy, health_response
from ..extensions import Blueprint, signal_cli
from ..schemas.general import AboutSchema, HealthQueryArgsSchema, HealthSchema
from ..signal_cli import SignalCliError

blp = Blueprint("General", __name__, description="What the service is and whether it is up.")

#: what /v2/send supports, for clients that check before using a feature
CAPABILITIES = {"v2/send": ["quotes", "mentions"]}


@blp.route("/v1/about")
@blp.response(200, AboutSchema)
def about():
    """Describe the service: API versions, its version and signal-cli's.

    signal-cli's version is asked once and remembered, so this never starts signal-cli per call.
    """
    try:
        signal_cli_version = signal_cli().version()
    except SignalCliError as error:
        current_app.logger.warning("signal-cli version unknown: %s", error.message)
        signal_cli_version = None
    return {
        "versions": ["v1", "v2"],
        "build": 2,
        "mode": "normal",
        "version": VERSION,
        "signal_cli": signal_cli_version,
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
    200 when both pass, 503 (saying which failed) otherwise.
    """
    if not args["deep"]:
        return None
    checks = {"signal_cli": _check_signal_cli(), "config_dir": _check_config_dir()}
    if not all(check["ok"] for check in checks.values()):
        raise ServiceUnhealthy(checks)
    return health_response("ok", checks, 200)


def _check_signal_cli():
    try:
        return {"ok": True, "version": signal_cli().probe()}
    except SignalCliError as error:
        return {"ok": False, "error": error.message}


def _check_config_dir():
    try:
        signal_cli().check_config_dir()
    except SignalCliError as error:
        return {"ok": False, "error": error.message}
    return {"ok": True, "path": str(signal_cli().config_dir)}
