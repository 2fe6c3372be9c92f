"""The console's pages that attach the service to Signal: link it as a device of a phone (a QR
code on screen, and the page waits for the scan), or register a number (captcha, then the code).

Each calls the wrapper's methods exactly as the API's views do, with the values the API's schemas
loaded; each failure is shown as the API's sentence.
"""

from pathlib import Path

import segno
from flask import abort, current_app, g, jsonify, redirect, render_template, url_for

from .. import signal_cli as sc
from ..errors import signal_cli_error_message
from ..extensions import signal_cli
from ..schemas import VERIFICATION_CODE, parse_phone_number
from ..schemas.accounts import RateLimitChallengeSchema
from ..schemas.devices import QrCodeLinkQueryArgsSchema, RegisterSchema, VerifySchema
from . import access
from .forms import ChallengeForm, LinkForm, RegisterForm, VerifyForm, load
from .links import LinkStore

blp = access.console_blueprint("console_enrol", __name__)

LIMITED = "This token is limited to some accounts; linking adds a new account, so it needs a token for every account."


def links():
    """The console's device links (files in the service's data dir)."""
    data_dir = Path(current_app.extensions["signal_rest.state"].directory)
    return LinkStore(data_dir / "console-links")


def _may_link():
    token = g.get("token")
    return token is None or token.accounts is None


@blp.route("/link", methods=["GET", "POST"])
def link():
    """Link this service as a new device of a phone's account: name it, then scan the QR code."""
    form = LinkForm()
    error = None
    if form.validate_on_submit():
        link_id, error = _start_link(form.device_name.data)
        if link_id is not None:
            return redirect(url_for("console_enrol.link_wait", link_id=link_id))
    return render_template("console/link.html", form=form, error=error, may_link=_may_link()), 400 if error else 200


@access.acting
def _start_link(device_name):
    """Start ``signal-cli link`` as /v1/qrcodelink does; returns ``(link id, None)`` or ``(None, sentence)``."""
    if not _may_link():
        abort(403, LIMITED)
    args, problem = load(QrCodeLinkQueryArgsSchema(), {"device_name": device_name})
    if problem:
        return None, problem
    store = links()
    lifetime = current_app.config["SIGNAL_REST_LINK_TIMEOUT"]
    link_id = store.new(args["device_name"], lifetime)
    try:
        uri = signal_cli().link(
            args["device_name"], lifetime=lifetime, on_end=lambda outcome: store.ended(link_id, outcome)
        )
    except sc.SignalCliError as failure:
        store.ended(link_id, failure)
        return None, signal_cli_error_message(failure)
    store.started(link_id, uri)
    return link_id, None


@blp.route("/link/<link_id>")
def link_wait(link_id):
    """The QR code of a link, and how the link is going (the page updates itself)."""
    record = links().get(link_id)
    if record is None:
        abort(404, "No such device link; start a new one.")
    qr = None
    if record.get("uri") and record["status"] == "waiting":
        try:
            code = segno.make_qr(record["uri"], version=10)
        except segno.DataOverflowError:
            code = segno.make_qr(record["uri"])
        qr = code.png_data_uri(scale=6, border=4)
    return render_template("console/link_wait.html", link_id=link_id, record=record, qr=qr)


@blp.route("/link/<link_id>/status")
def link_status(link_id):
    """How a link is going, for the page polling it: its ``status``, ``number`` and ``error``.

    (JSON, read by link.js.)
    """
    record = links().get(link_id)
    if record is None:
        abort(404, "No such device link; start a new one.")
    return jsonify({key: record.get(key) for key in ("status", "number", "error")})


@blp.route("/register", methods=["GET", "POST"])
def register():
    """Register a number: ask Signal for a code (solving a captcha when Signal asks for one)."""
    form = RegisterForm()
    outcome = {}
    if form.validate_on_submit():
        outcome = _register(form)
        if outcome.get("verify"):
            verify_form = VerifyForm(number=outcome["number"], formdata=None)
            return render_template("console/verify.html", form=verify_form, number=outcome["number"])
    return _register_page(form, outcome)


def _register_page(form, outcome, status=None):
    challenge = outcome.get("challenge")
    return render_template(
        "console/register.html",
        form=form,
        error=outcome.get("error"),
        captcha_required=outcome.get("captcha_required", False),
        challenge_form=challenge,
        notice=outcome.get("notice"),
    ), status or (400 if outcome.get("error") else 200)


def _number(text):
    """The E.164 number of a form field, refused (403) if the visitor's token is not for it."""
    number = parse_phone_number(text or "")
    if number is not None:
        access.require_account(number)
    return number


@access.acting
def _register(form):
    """Run ``register`` as POST /v1/register does; what to show next."""
    number = _number(form.number.data)
    if number is None:
        return {"error": "number: Not a phone number in international format, e.g. +4915112345678."}
    values = {"use_voice": form.use_voice.data}
    if (form.captcha.data or "").strip():
        values["captcha"] = form.captcha.data.strip()
    data, problem = load(RegisterSchema(), values)
    if problem:
        return {"error": problem}
    try:
        signal_cli().register(number, voice=data["use_voice"], captcha=data.get("captcha"))
    except sc.RateLimited as failure:
        challenge = None
        if failure.challenge_tokens:
            challenge = ChallengeForm(number=number, challenge_token=failure.challenge_tokens[0], formdata=None)
        return {"error": signal_cli_error_message(failure), "challenge": challenge}
    except sc.SignalCliError as failure:
        return {
            "error": signal_cli_error_message(failure),
            "captcha_required": isinstance(failure, (sc.CaptchaRequired, sc.CaptchaRejected)),
        }
    return {"verify": True, "number": number}


@blp.route("/register/verify", methods=["POST"])
@access.acting
def verify():
    """Finish registering a number with the code Signal sent (and the PIN, if one is set)."""
    form = VerifyForm()
    number = _number(form.number.data)
    code = (form.code.data or "").strip()
    error = None
    if number is None:
        error = "The number is missing; start the registration again."
    elif not VERIFICATION_CODE.match(code):
        error = "The verification code is six digits, e.g. 123456 or 123-456."
    else:
        data, error = load(VerifySchema(), {"pin": form.pin.data} if form.pin.data else {})
    if error is None:
        try:
            signal_cli().verify(number, code.replace("-", ""), pin=data.get("pin"))
        except sc.SignalCliError as failure:
            error = signal_cli_error_message(failure)
    if error is not None:
        return render_template("console/verify.html", form=form, number=number, error=error), 400
    return render_template("console/registered.html", number=number)


@blp.route("/rate-limit-challenge", methods=["POST"])
@access.acting
def rate_limit_challenge():
    """Lift a rate limit with a solved captcha, as POST /v1/accounts/{number}/rate-limit-challenge does."""
    form = ChallengeForm()
    number = _number(form.number.data)
    data, error = load(
        RateLimitChallengeSchema(),
        {"challenge_token": (form.challenge_token.data or "").strip(), "captcha": (form.captcha.data or "").strip()},
    )
    if number is None:
        error = "number: Not a phone number in international format, e.g. +4915112345678."
    if error is None:
        try:
            signal_cli().submit_rate_limit_challenge(number, data["challenge_token"], data["captcha"])
        except sc.SignalCliError as failure:
            error = signal_cli_error_message(failure)
    if error is not None:
        return _register_page(RegisterForm(formdata=None, number=number), {"error": error, "challenge": form})
    notice = f"The rate limit of {number} is lifted: ask for the code again."
    return _register_page(RegisterForm(formdata=None, number=number), {"notice": notice})
