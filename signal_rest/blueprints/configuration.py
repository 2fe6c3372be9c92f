"""Configuration: the service's log level and each account's trust mode."""

from ..extensions import Blueprint, service_state
from ..logs import current_level, set_level
from ..schemas.configuration import ConfigurationSchema, TrustModeSchema

blp = Blueprint("Configuration", __name__, description="The service's settings at run time.")


@blp.route("/v1/configuration")
@blp.response(200, ConfigurationSchema)
def get_configuration():
    """Show the configuration in force (the log level)."""
    return {"logging": {"level": current_level()}}


@blp.route("/v1/configuration", methods=["POST"])
@blp.arguments(ConfigurationSchema)
@blp.response(200, ConfigurationSchema)
def set_configuration(data):
    """Change the log level of every worker of the service."""
    level = data["logging"]["level"]
    service_state().set_log_level(level)
    set_level(level)
    return {"logging": {"level": current_level()}}


@blp.route("/v1/configuration/<number:number>/settings")
@blp.response(200, TrustModeSchema)
def get_account_settings(number):
    """Show how new identity keys of the account's contacts are trusted."""
    return {"trust_mode": service_state().trust_mode(number) or "on-first-use"}


@blp.route("/v1/configuration/<number:number>/settings", methods=["POST"])
@blp.arguments(TrustModeSchema)
@blp.response(204)
def set_account_settings(data, number):
    """Set how new identity keys are trusted; used for every later call for the account."""
    service_state().set_trust_mode(number, data["trust_mode"])
