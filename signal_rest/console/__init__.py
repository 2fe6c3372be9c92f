"""The web console at /console: pages for the people who run the service.

Server-rendered pages (Jinja templates and a little plain JavaScript, every asset served from this
package) to link the service as a device of a phone, register a number, and see the accounts, the
inbox, the webhooks and the settings. Every action calls the same :class:`~signal_rest.signal_cli.SignalCli`
methods as the API's views, and a failure is shown as the API's sentence.

With API tokens configured, the console asks for one (:mod:`.access`) and keeps it in a session
cookie (HttpOnly, SameSite=Strict, Secure when the request came over HTTPS, also behind a proxy
that ``SIGNAL_REST_PROXY_COUNT`` trusts); every form carries a CSRF token. Without tokens it is as
open as the API, and every page says so.
"""

import logging
import os
import secrets
from pathlib import Path

from flask import request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

from . import access, enrol, views

log = logging.getLogger(__name__)

#: the session cookie's name (the API itself sets no cookie)
COOKIE_NAME = "signal_rest_console"


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, scoped to /console and ``Secure`` whenever the request is HTTPS."""

    def get_cookie_secure(self, app):
        """``Secure`` when configured, or when this request came over HTTPS (directly or through a trusted proxy)."""
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)

    def get_cookie_path(self, app):
        """The console's path, under the prefix a trusted proxy serves the service at."""
        return f"{request.script_root}/console"


def secret_key(data_dir):
    """The key that signs the console's cookies and CSRF tokens: random, made once and kept in
    ``data_dir`` (mode 0600), so every gunicorn worker and every restart signs alike.

    Where the data dir is unusable (the service then answers 503 and its health check says why),
    a key of this process alone: a sign-in then holds only in the worker that made it.
    """
    path = Path(data_dir) / "console-secret-key"
    try:
        return path.read_bytes() if path.exists() else _new_secret_key(path)
    except OSError as exc:
        log.warning("the console's key cannot be kept in %s (%s); sign-ins hold in this worker only", path, exc)
        return secrets.token_bytes(32)


def _new_secret_key(path):
    """Write a new random key to ``path`` unless another worker just did; return the key in force."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(secrets.token_bytes(32))
    try:
        # a link fails if another worker got there first: then its key is the one
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_bytes()


def init_app(app, tokens, data_dir):
    """Serve the console at /console, signing in with one of ``tokens`` (none: open)."""
    if not app.secret_key:
        app.secret_key = secret_key(data_dir)
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        # every POST of the console is checked in access.guard, not by a global check of the API's POSTs
        WTF_CSRF_CHECK_DEFAULT=False,
    )
    app.session_interface = ConsoleSessionInterface()
    CSRFProtect(app)
    app.extensions[access.TOKENS] = list(tokens)
    for module in (views, enrol):
        app.register_blueprint(module.blp)
