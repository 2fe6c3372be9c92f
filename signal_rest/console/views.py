"""The console's pages that look: sign-in and out, the accounts, the inbox and webhooks, and About."""

import platform
import time

from flask import current_app, flash, redirect, render_template, request, session, url_for

from .. import config
from ..auth import find_token
from ..blueprints.messages import send_message
from ..errors import recipient_failures, signal_cli_error_message
from ..extensions import inbox, signal_cli
from ..receiving import webhooks
from ..schemas.messages import SendMessageSchema
from ..signal_cli import SignalCliError
from . import access
from .forms import ActionForm, SignInForm, TestMessageForm, load

blp = access.console_blueprint("console", __name__, static_folder=access.PACKAGE_DIR / "static")

#: what a masked secret setting shows
MASKED = "•••••• (set)"


@blp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """Sign in with an API token (only asked for when tokens are configured)."""
    if not access.tokens():
        return redirect(url_for("console.accounts"))
    form = SignInForm()
    status = 200
    if form.validate_on_submit():
        token = find_token(access.tokens(), form.token.data or "")
        if token is not None:
            session.clear()
            session["token"] = access.digest(token.secret)
            return redirect(_safe_next(request.args.get("next")))
        flash("That is not one of this service's API tokens.", "error")
        status = 401
    return render_template("console/sign_in.html", form=form), status


def _safe_next(target):
    """Where to go after signing in: a console path, never another site."""
    prefix = url_for("console.accounts")
    if target and target.startswith(prefix) and not target.startswith("//"):
        return target
    return prefix


@blp.route("/sign-out", methods=["POST"])
def sign_out():
    """Forget this browser's sign-in."""
    session.clear()
    flash("Signed out.", "info")
    return redirect(url_for("console.sign_in") if access.tokens() else url_for("console.accounts"))


@blp.route("/")
def accounts():
    """Every account, registered or not, with its devices, and the signal-cli in use (with a warning
    when it is too old)."""
    cli = signal_cli()
    listed, error = _accounts()
    rows = []
    for number in listed:
        try:
            rows.append({"number": number, "registered": True, "devices": cli.list_devices(number), "error": None})
        except SignalCliError as failure:
            message = signal_cli_error_message(failure)
            rows.append({"number": number, "registered": True, "devices": [], "error": message})
    if error is None:
        # signal-cli lists only registered accounts; one whose registration was not finished is in its files
        unfinished = [number for number in access.visible(cli.local_accounts()) if number not in listed]
        rows += [{"number": number, "registered": False, "devices": [], "error": None} for number in unfinished]
    return render_template("console/accounts.html", rows=rows, error=error, support=cli.support())


def _accounts():
    """The accounts the visitor may see, and the sentence of why they could not be listed (or None)."""
    try:
        return access.visible(signal_cli().list_accounts()), None
    except SignalCliError as failure:
        return [], signal_cli_error_message(failure)


@blp.route("/inbox", methods=["GET", "POST"])
def inbox_page():
    """Per account the inbox and the receiver's last run, per webhook its deliveries; a test message."""
    listed, error = _accounts()
    waiting = {account for account in inbox().waiting_by_account() if access.may_see(account)}
    numbers = sorted(set(listed) | waiting)
    hooks = current_app.extensions["signal_rest.webhooks"]
    statuses = []
    for number in numbers:
        status = inbox().status(number, webhooks.targets(hooks, number))
        for hook in status["webhooks"]:
            hook.update(inbox().delivery_retries(number, hook["url"]))
        statuses.append(status)
    form = TestMessageForm()
    form.number.choices = [(number, number) for number in listed]
    sent = None
    if request.method == "POST":
        sent = _send_test_message(form)
    return render_template(
        "console/inbox.html",
        statuses=statuses,
        webhooks=_webhook_summaries(hooks, statuses),
        error=error,
        form=form,
        sent=sent,
        receiving=current_app.config["SIGNAL_REST_RECEIVER"] or signal_cli().mode == "json-rpc",
    )


def _webhook_summaries(hooks, statuses):
    """Per webhook: its last delivery and error, and over the accounts shown its pending deliveries,
    failed attempts and the next retry."""
    summaries = []
    for hook in hooks:
        rows = [row for status in statuses for row in status["webhooks"] if row["url"] == hook.url]
        retries = [row["next_retry_at"] for row in rows if row["next_retry_at"]]
        first = rows[0] if rows else {}
        summaries.append(
            {
                "url": hook.url,
                "accounts": sorted(hook.accounts) if hook.accounts is not None else None,
                "last_delivered_at": first.get("last_delivered_at"),
                "last_error": first.get("last_error"),
                "last_error_at": first.get("last_error_at"),
                "pending": sum(row["pending"] for row in rows),
                "failed_attempts": sum(row["failed_attempts"] for row in rows),
                "next_retry_at": min(retries) if retries else None,
            }
        )
    return summaries


@access.acting
def _send_test_message(form):
    """Send the test message through the API's own send; returns what to say about it."""
    access.require_account(form.number.data)
    data, problem = load(
        SendMessageSchema(),
        {"number": form.number.data, "recipients": [form.recipient.data], "message": form.message.data},
    )
    if problem:
        return {"ok": False, "text": problem}
    try:
        sent = send_message(data)
    except SignalCliError as failure:
        return {"ok": False, "text": signal_cli_error_message(failure)}
    failures = recipient_failures(sent.result)
    if failures:
        reasons = ", ".join(f"{f['number'] or f['uuid']}: {f['reason']}" for f in failures)
        return {"ok": False, "text": f"Not delivered to every recipient ({reasons})."}
    return {"ok": True, "text": f"Sent to {form.recipient.data} (timestamp {(sent.result or {}).get('timestamp')})."}


@blp.route("/about")
def about():
    """The mode, the versions and the settings in effect, secrets masked."""
    cli = signal_cli()
    settings = []
    for name in config.SETTINGS:
        value = current_app.config.get(name)
        if name in config.SECRET_SETTINGS and value:
            value = MASKED
        elif name == "SIGNAL_REST_WEBHOOK_URL" and value:
            value = mask_url(value)
        settings.append((name, value))
    versions = {
        "signal_rest": config.VERSION,
        "signal-cli": cli.support().version or "unknown",
        "Python": platform.python_version(),
    }
    return render_template(
        "console/about.html", mode=cli.mode, versions=versions, settings=settings, support=cli.support()
    )


@blp.app_template_global()
def action_form():
    """A form with nothing but its CSRF token, for a button (sign out, start again)."""
    return ActionForm()


@blp.app_template_filter("ms_time")
def ms_time(milliseconds):
    """A signal-cli timestamp (milliseconds since the epoch) as UTC date and time."""
    if not milliseconds:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(milliseconds / 1000))


@blp.app_template_filter("mask_url")
def mask_url(url):
    """A URL with the password of its user part masked."""
    return webhooks.masked_url(url)
