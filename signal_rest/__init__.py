"""signal_rest: an HTTP gateway to the Signal messenger, built on signal-cli."""

import atexit
import functools
import time
from pathlib import Path

import swagger_ui_bundle
from flask import Flask, g, redirect, request, send_from_directory, url_for
from werkzeug.middleware.proxy_fix import ProxyFix

from . import auth, config, console, converters, errors, idempotency, logs
from .blueprints import register_blueprints
from .extensions import Api
from .receiving import webhooks
from .receiving.inbox import Inbox
from .receiving.push import PushService
from .receiving.receiver import Receiver
from .receiving.supervisor import Supervisor
from .signal_cli import SignalCli
from .signal_cli.daemon import DaemonProcess
from .state import ServiceState

__version__ = config.VERSION


def create_app(test_config=None):
    """Create the Flask app; ``test_config`` overrides any setting (see :mod:`signal_rest.config`).

    Raises ``ValueError`` naming the setting when a setting is malformed.
    """
    # imported here, not at the top: gunicorn's configuration must be able to import this package
    # (for its settings) before prometheus_client, which fixes multiprocess mode when imported
    from . import metrics

    app = Flask(__name__)
    app.config.update(config.from_environment())
    app.config.update(
        API_TITLE="signal_rest",
        API_VERSION=config.VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/docs",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/",
        # required by flask-smorest to enable the UI; the Api subclass serves the assets itself
        OPENAPI_SWAGGER_UI_URL="/docs/swagger-ui/",
    )
    if test_config:
        app.config.update(config.checked(test_config))
    app.config["MAX_CONTENT_LENGTH"] = app.config["SIGNAL_REST_MAX_BODY_BYTES"]
    # group ids and invite links in paths contain '/' and '//'; a trailing slash is tolerated
    # (strict_slashes off here, and converters.strip_trailing_slash for parameters)
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    logs.configure(app.config["LOG_LEVEL"], app.config["SIGNAL_REST_LOG_FORMAT"])

    _create_services(app, metrics)
    errors.register_error_handlers(app)
    # request ids first, so that even a 401 carries one
    _observe_requests(app, metrics)
    tokens = auth.load_tokens(app.config)
    auth.init_app(app, tokens)
    idempotency.init_app(app, app.extensions["signal_rest.state"].directory, by_token=bool(tokens))
    api = Api(app)
    converters.register_converters(app, api)
    register_blueprints(api)
    console.init_app(app, tokens, app.extensions["signal_rest.state"].directory)
    _add_service_routes(app, metrics)
    app.wsgi_app = converters.strip_trailing_slash(app.wsgi_app)
    if app.config["SIGNAL_REST_PROXY_COUNT"]:
        hops = app.config["SIGNAL_REST_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)
    return app


def _create_services(app, metrics):
    """The wrapper, the inbox, the service's state, the webhooks and the receiver, in app.extensions."""
    config_dir = Path(app.config["SIGNAL_CLI_CONFIG_DIR"]).expanduser()
    data_dir = Path(app.config["SIGNAL_REST_DATA_DIR"] or config_dir / "signal-rest").expanduser()
    state = ServiceState(data_dir)
    json_rpc = app.config["SIGNAL_REST_MODE"] == "json-rpc"
    hooks = webhooks.load_webhooks(app.config) if app.config["SIGNAL_REST_RECEIVER"] or json_rpc else []
    inbox = Inbox(data_dir / "inbox.sqlite3", targets_for=functools.partial(webhooks.targets, hooks))
    cli = SignalCli(
        app.config["SIGNAL_CLI_BIN"],
        config_dir,
        cmd_timeout=app.config["SIGNAL_CLI_CMD_TIMEOUT"],
        lock_timeout=app.config["SIGNAL_CLI_LOCK_TIMEOUT"],
        max_processes=app.config["SIGNAL_REST_MAX_PROCESSES"],
        java_opts=app.config["SIGNAL_CLI_JAVA_OPTS"],
        trust_mode_for=state.trust_mode,
        observer=metrics.SignalCliObserver(),
        version_cache=data_dir / "signal-cli-version.json",
        mode=app.config["SIGNAL_REST_MODE"],
    )
    # a pending `signal-cli link` must not outlive the worker
    atexit.register(cli.close)
    deliverer = webhooks.Deliverer(inbox, hooks, max_age=app.config["SIGNAL_REST_WEBHOOK_MAX_AGE"]) if hooks else None

    def prune():
        return inbox.prune(
            max_age=app.config["SIGNAL_REST_INBOX_MAX_AGE"],
            max_count=app.config["SIGNAL_REST_INBOX_MAX_COUNT"],
            attachments_dir=config_dir / "attachments",
        )

    accounts = [a.strip() for a in app.config["SIGNAL_REST_RECEIVE_ACCOUNTS"].split(",") if a.strip()]
    receiver = Receiver(
        cli,
        inbox,
        accounts=accounts,
        interval=app.config["SIGNAL_REST_RECEIVE_INTERVAL"],
        window=app.config["SIGNAL_REST_RECEIVE_WINDOW"],
        max_messages=app.config["SIGNAL_REST_RECEIVE_MAX_MESSAGES"],
        deliverer=deliverer,
        webhooks=hooks,
        prune=prune,
    )
    supervisor = Supervisor(DaemonProcess(cli.runner), inbox, deliverer=deliverer, prune=prune)
    push = PushService(
        inbox,
        cli.list_accounts,
        connections=app.config["SIGNAL_REST_PUSH_CONNECTIONS"],
        keepalive=app.config["SIGNAL_REST_PUSH_KEEPALIVE"],
        send_timeout=app.config["SIGNAL_REST_PUSH_SEND_TIMEOUT"],
    )
    app.extensions.update(
        {
            "signal_rest.state": state,
            "signal_rest.inbox": inbox,
            "signal_rest.webhooks": hooks,
            "signal_rest.signal_cli": cli,
            "signal_rest.receiver": receiver,
            "signal_rest.supervisor": supervisor,
            "signal_rest.push": push,
        }
    )


def _add_service_routes(app, metrics):
    """Swagger UI's assets, the /swagger shortcut and /metrics (outside the OpenAPI document)."""

    @app.route("/docs/swagger-ui/<path:filename>", endpoint="swagger_ui_assets")
    def swagger_ui_assets(filename):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    @app.route("/swagger", endpoint="swagger_redirect")
    def swagger_redirect():
        return redirect(url_for("api-docs.openapi_swagger_ui"))

    @app.route("/metrics", endpoint="metrics")
    def prometheus_metrics():
        body, content_type = metrics.exposition(app.extensions["signal_rest.inbox"])
        return app.response_class(body, mimetype=content_type.split(";")[0], content_type=content_type)


def _observe_requests(app, metrics):
    """Request ids, the log level set by another worker, and request metrics."""
    state = app.extensions["signal_rest.state"]

    @app.before_request
    def start_request():
        g.started = time.monotonic()
        g.request_id = logs.start_request(request.headers.get(logs.REQUEST_ID_HEADER))
        # POST /v1/configuration may have been served by another worker
        level = state.log_level()
        if level and level != logs.current_level():
            logs.set_level(level)

    @app.after_request
    def finish_request(response):
        response.headers[logs.REQUEST_ID_HEADER] = g.get("request_id") or logs.current_request_id()
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.observe_request(route, request.method, response.status_code, g.get("started", time.monotonic()))
        return response
