"""General: what the service is, and whether it is up."""

from flask import current_app

from .. import __version__
from ..extensions import Blueprint, signal_cli
from ..schemas import AboutSchema
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
        "version": __version__,
        "signal_cli": signal_cli_version,
        "capabilities": CAPABILITIES,
    }


@blp.route("/v1/health")
@blp.response(204)
def health():
    """Answer 204 while the service is up."""
