"""Who may use the console: sign-in with an API token, the session, CSRF, and what a token may do.

The session keeps a SHA-256 digest of the token, never the token, and every request looks it up
again among the configured tokens (in constant time, like :func:`signal_rest.auth.find_token`).
A read-only token sees every page but submits nothing; an account-limited token sees and acts on
its own accounts only, and cannot link (a link adds an account it does not know).
"""

import hashlib
import hmac
from functools import wraps
from pathlib import Path

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import validate_csrf
from werkzeug.exceptions import HTTPException
from wtforms import ValidationError

#: app.extensions key of the configured tokens (empty: the console is open)
TOKENS = "signal_rest.console_tokens"
#: the endpoints reachable before signing in
OPEN_ENDPOINTS = {"console.sign_in", "console.static"}
#: where the templates and assets of every console blueprint live
PACKAGE_DIR = Path(__file__).resolve().parent

READ_ONLY = "This token is read-only; it can see the console but cannot send, change or link anything."


def digest(secret):
    """What the session keeps of a token: its SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def tokens():
    """The configured API tokens (empty: the console is open)."""
    return current_app.extensions[TOKENS]


def signed_in_token():
    """The token this session signed in with, if it is still configured; None otherwise."""
    kept = (session.get("token") or "").encode("ascii", "replace")
    found = None
    for token in tokens():
        if hmac.compare_digest(kept, digest(token.secret).encode("ascii")) and kept:
            found = token
    return found


def console_blueprint(name, import_name, **options):
    """A blueprint of console pages under /console, every request of it checked by :func:`guard`."""
    blp = Blueprint(name, import_name, url_prefix="/console", template_folder=PACKAGE_DIR / "templates", **options)
    blp.before_request(guard)
    blp.register_error_handler(HTTPException, error_page)
    blp.context_processor(lambda: {"viewer": viewer()})
    return blp


def guard():
    """Refuse a request without a signed-in token (when tokens are configured) and a POST without
    a valid CSRF token; remember the token in ``g.token``."""
    g.token = None
    if tokens() and request.endpoint not in OPEN_ENDPOINTS:
        g.token = signed_in_token()
        if g.token is None:
            if request.method == "GET":
                return redirect(url_for("console.sign_in", next=request.full_path.rstrip("?")))
            abort(401, "Sign in with an API token first.")
    if request.method == "POST":
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError as error:
            abort(400, f"The form has expired or was not sent from the console ({error}); reload the page.")
    return None


def viewer():
    """What the templates need to know of the visitor: whether the console is open, signed in, and may act."""
    token = g.get("token")
    return {
        "open": not tokens(),
        "signed_in": token is not None,
        "read_only": bool(token and token.read_only),
        "accounts": sorted(token.accounts) if token and token.accounts is not None else None,
    }


def may_see(account):
    """Whether the visitor may see (and, unless read-only, act on) ``account``."""
    token = g.get("token")
    return token is None or token.accounts is None or account in token.accounts


def visible(accounts):
    """The accounts of ``accounts`` the visitor may see, in order."""
    return [account for account in accounts if may_see(account)]


def acting(view):
    """A view that changes something: refused (403) for a read-only token."""

    @wraps(view)
    def checked(*args, **kwargs):
        token = g.get("token")
        if token is not None and token.read_only:
            abort(403, READ_ONLY)
        return view(*args, **kwargs)

    return checked


def require_account(account):
    """Refuse (403) an action on an account the visitor's token is not for."""
    if not may_see(account):
        abort(403, f"This token may not be used for account {account}.")


def error_page(error):
    """An HTTP error of a console page, as a page that says what to do."""
    return render_template("console/error.html", error=error), error.code
