"""signal_rest: an HTTP gateway to the Signal messenger, built on signal-cli."""

__version__ = "0.1.0"

import atexit  # noqa: E402  (the blueprints import __version__ from here)
from pathlib import Path  # noqa: E402

import swagger_ui_bundle  # noqa: E402
from flask import Flask, redirect, send_from_directory, url_for  # noqa: E402

from . import config, converters, errors, logs, webhooks  # noqa: E402
from .blueprints import register_blueprints  # noqa: E402
from .extensions import Api  # noqa: E402
from .inbox import Inbox  # noqa: E402
from .receiver import Receiver  # noqa: E402
from .signal_cli import SignalCli  # noqa: E402
from .state import ServiceState  # noqa: E402


def create_app(test_config=None):
    """Create the Flask app; ``test_config`` overrides any setting (see :mod:`signal_rest.config`)."""
    app = Flask(__name__)
    app.config.update(config.from_environment())
    app.config.update(
        API_TITLE="signal_rest",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/docs",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/",
        # required by flask-smorest to enable the UI; the Api subclass serves the assets itself
        OPENAPI_SWAGGER_UI_URL="/docs/swagger-ui/",
    )
    if test_config:
        app.config.update(test_config)
    app.config["MAX_CONTENT_LENGTH"] = app.config["SIGNAL_REST_MAX_BODY_BYTES"]
    # group ids and invite links in paths contain '/' and '//'; a trailing slash is tolerated
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False

    logs.configure(app.config["LOG_LEVEL"])
    config_dir = Path(app.config["SIGNAL_CLI_CONFIG_DIR"]).expanduser()
    data_dir = Path(app.config["SIGNAL_REST_DATA_DIR"] or config_dir / "signal-rest").expanduser()
    state = ServiceState(data_dir)
    app.extensions["signal_rest.state"] = state
    hooks = webhooks.load_webhooks(app.config) if app.config["SIGNAL_REST_RECEIVER"] else []
    inbox = Inbox(
        data_dir / "inbox.sqlite3",
        targets_for=lambda account, kind: [hook.url for hook in hooks if hook.wants(account, kind)],
    )
    app.extensions["signal_rest.inbox"] = inbox
    app.extensions["signal_rest.webhooks"] = hooks
    app.extensions["signal_rest.signal_cli"] = cli = SignalCli(
        app.config["SIGNAL_CLI_BIN"],
        config_dir,
        cmd_timeout=app.config["SIGNAL_CLI_CMD_TIMEOUT"],
        lock_timeout=app.config["SIGNAL_CLI_LOCK_TIMEOUT"],
        max_processes=app.config["SIGNAL_REST_MAX_PROCESSES"],
        java_opts=app.config["SIGNAL_CLI_JAVA_OPTS"],
        trust_mode_for=state.trust_mode,
    )
    # a pending `signal-cli link` must not outlive the worker
    atexit.register(cli.close)
    accounts = [a.strip() for a in app.config["SIGNAL_REST_RECEIVE_ACCOUNTS"].split(",") if a.strip()]
    app.extensions["signal_rest.receiver"] = Receiver(
        cli,
        inbox,
        accounts=accounts,
        interval=app.config["SIGNAL_REST_RECEIVE_INTERVAL"],
        window=app.config["SIGNAL_REST_RECEIVE_WINDOW"],
        max_messages=app.config["SIGNAL_REST_RECEIVE_MAX_MESSAGES"],
        deliverer=webhooks.Deliverer(inbox, hooks, max_age=app.config["SIGNAL_REST_WEBHOOK_MAX_AGE"])
        if hooks
        else None,
        targets=[hook.url for hook in hooks],
        prune=lambda: inbox.prune(
            max_age=app.config["SIGNAL_REST_INBOX_MAX_AGE"],
            max_count=app.config["SIGNAL_REST_INBOX_MAX_COUNT"],
            attachments_dir=config_dir / "attachments",
        ),
    )

    errors.register_error_handlers(app)
    api = Api(app)
    converters.register_converters(app, api)
    register_blueprints(api)

    @app.route("/docs/swagger-ui/<path:filename>", endpoint="swagger_ui_assets")
    def swagger_ui_assets(filename):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    @app.route("/swagger", endpoint="swagger_redirect")
    def swagger_redirect():
        return redirect(url_for("api-docs.openapi_swagger_ui"))

    @app.before_request
    def follow_log_level():
        # POST /v1/configuration may have been served by another worker
        level = state.log_level()
        if level and level != logs.current_level():
            logs.set_level(level)

    return app
