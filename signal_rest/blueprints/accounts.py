"""Accounts: the accounts of this signal-cli, their settings, username, PIN and rate limits."""

from ..extensions import Blueprint, signal_cli
from ..schemas import EmptySchema
from ..schemas.accounts import (
    AccountSettingsSchema,
    PinSchema,
    RateLimitChallengeSchema,
    UsernameResultSchema,
    UsernameSchema,
)

blp = Blueprint("Accounts", __name__, description="Accounts and their settings.")


@blp.route("/v1/accounts")
@blp.string_list_response(200, "The accounts' phone numbers.")
def list_accounts():
    """List the phone numbers of the registered accounts."""
    return signal_cli().list_accounts()


@blp.route("/v1/accounts/<number:number>/rate-limit-challenge", methods=["POST"])
@blp.arguments(RateLimitChallengeSchema)
@blp.response(204)
def rate_limit_challenge(data, number):
    """Lift a rate limit: the challenge token from the 429 answer and a solved captcha."""
    signal_cli().submit_rate_limit_challenge(number, data["challenge_token"], data["captcha"])


@blp.route("/v1/accounts/<number:number>/settings", methods=["PUT"])
@blp.arguments(AccountSettingsSchema)
@blp.response(204)
def update_settings(data, number):
    """Whether people can find the account by its number, and whether it shares the number."""
    if data:
        signal_cli().update_account(
            number, discoverable_by_number=data.get("discoverable_by_number"), number_sharing=data.get("share_number")
        )


@blp.route("/v1/accounts/<number:number>/username", methods=["POST"])
@blp.arguments(UsernameSchema)
@blp.response(201, UsernameResultSchema)
def set_username(data, number):
    """Set the account's username; Signal adds the digits after the dot when none are given."""
    return signal_cli().set_username(number, data["username"])


@blp.route("/v1/accounts/<number:number>/username", methods=["DELETE"])
@blp.response(204)
def delete_username(number):
    """Remove the account's username."""
    signal_cli().update_account(number, delete_username=True)


@blp.route("/v1/accounts/<number:number>/pin", methods=["POST"])
@blp.arguments(PinSchema)
@blp.response(201, EmptySchema)
def set_pin(data, number):
    """Set the registration lock PIN."""
    signal_cli().set_pin(number, data["pin"])
    return {}


@blp.route("/v1/accounts/<number:number>/pin", methods=["DELETE"])
@blp.response(204)
def remove_pin(number):
    """Remove the registration lock PIN."""
    signal_cli().remove_pin(number)
