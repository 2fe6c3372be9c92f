"""Devices: registering and verifying a phone number."""

from ..extensions import Blueprint, signal_cli
from ..schemas import RegisterSchema, VerifySchema

blp = Blueprint("Devices", __name__, description="Register, verify and link accounts and devices.")


@blp.route("/v1/register/<number:number>", methods=["POST"])
@blp.arguments(RegisterSchema, required=False)
@blp.response(201)
def register(data, number):
    """Register a phone number: Signal sends a code by SMS (or voice call with ``use_voice``).

    When Signal asks for a captcha the answer is a 400 that says how to get one; send it again
    with ``captcha``.
    """
    signal_cli().register(number, voice=data.get("use_voice", False), captcha=data.get("captcha"))
    return {}


@blp.route("/v1/register/<number:number>/verify/<code:token>", methods=["POST"])
@blp.arguments(VerifySchema, required=False)
@blp.response(201)
def verify(data, number, token):
    """Verify a registered number with the code Signal sent (and the PIN, if one is set)."""
    signal_cli().verify(number, token, pin=data.get("pin"))
    return {}
