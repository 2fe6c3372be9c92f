"""Settings: their defaults, read from the environment in one place.

Every setting is a Flask config key of the same name, read from the environment variable of that
name when it is set. ``create_app(test_config)`` applies ``test_config`` last, so tests (and
embedders) can override any of them without touching the environment.
"""

import importlib.metadata
import os

#: the service's version, from its installed distribution (setup.cfg)
VERSION = importlib.metadata.version("signal-rest")


def _boolean(text):
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{text!r} is not a boolean (use true or false)")


def _choice(*allowed):
    def convert(text):
        value = text.strip().lower()
        if value not in allowed:
            raise ValueError(f"{text!r} is not one of {', '.join(allowed)}")
        return value

    return convert


def _log_level(text):
    level = text.strip().upper()
    if level == "WARN":
        level = "WARNING"
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError(f"{text!r} is not a log level (DEBUG, INFO, WARNING, ERROR or CRITICAL)")
    return level


#: name -> (default, converter). The README's configuration table lists the same settings.
SETTINGS = {
    # normal: one signal-cli per request; json-rpc: every request goes to one resident signal-cli daemon
    "SIGNAL_REST_MODE": ("normal", _choice("normal", "json-rpc")),
    # the signal-cli executable; `make run` points this at the provisioned one
    "SIGNAL_CLI_BIN": ("signal-cli", str),
    # signal-cli's --config directory (its own default, so an existing set-up keeps working)
    "SIGNAL_CLI_CONFIG_DIR": (os.path.join("~", ".local", "share", "signal-cli"), str),
    # seconds one signal-cli run may take before it is killed (504)
    "SIGNAL_CLI_CMD_TIMEOUT": (120.0, float),
    # seconds a request waits for another request on the same account (then 503)
    "SIGNAL_CLI_LOCK_TIMEOUT": (60.0, float),
    # signal-cli processes running at once, across all workers (more wait, then 503); 0: no limit
    "SIGNAL_REST_MAX_PROCESSES": (4, int),
    # extra JVM options for every signal-cli run (passed as JAVA_OPTS)
    "SIGNAL_CLI_JAVA_OPTS": ("", str),
    # the account used when a request names none
    "SIGNAL_REST_DEFAULT_ACCOUNT": ("", str),
    # the seed API's name for the same setting
    "PYTHON_SIGNAL_CLI_REST_API_ACCOUNT": ("", str),
    # the service's own data (inbox, settings); default: <SIGNAL_CLI_CONFIG_DIR>/signal-rest
    "SIGNAL_REST_DATA_DIR": ("", str),
    # seconds a `signal-cli link` started by /v1/qrcodelink waits for the phone to scan it
    "SIGNAL_REST_LINK_TIMEOUT": (300.0, float),
    # the default of /v2/send's text_mode
    "SIGNAL_REST_DEFAULT_TEXT_MODE": ("normal", str),
    # the largest request body accepted, in bytes (larger: 413)
    "SIGNAL_REST_MAX_BODY_BYTES": (100 * 1024 * 1024, int),
    # the log level at start-up (POST /v1/configuration changes it at run time)
    "LOG_LEVEL": ("INFO", _log_level),
    # log lines as plain text or as JSON objects
    "SIGNAL_REST_LOG_FORMAT": ("plain", _choice("plain", "json")),
    # API tokens, whitespace-separated: [ro:]TOKEN[@+49…,+49…]; none: no authentication
    "SIGNAL_REST_API_TOKENS": ("", str),
    # a file with more tokens, one or more per line (# starts a comment)
    "SIGNAL_REST_API_TOKENS_FILE": ("", str),
    # how many reverse proxies in front may set X-Forwarded-For/Proto/Host/Prefix (0: trust none)
    "SIGNAL_REST_PROXY_COUNT": (0, int),
    # gunicorn (signal_rest.gunicorn_conf): where it listens, its worker processes, threads per worker
    "SIGNAL_REST_BIND": ("127.0.0.1:8080", str),
    "SIGNAL_REST_WORKERS": (2, int),
    "SIGNAL_REST_THREADS": (8, int),
    # push connections (websocket, SSE) per gunicorn worker, on threads of their own beside the REST threads
    "SIGNAL_REST_PUSH_CONNECTIONS": (64, int),
    # seconds between two keep-alives of a push connection (websocket ping, SSE comment)
    "SIGNAL_REST_PUSH_KEEPALIVE": (20.0, float),
    # seconds a push client may take nothing before it is dropped (its messages stay in the inbox)
    "SIGNAL_REST_PUSH_SEND_TIMEOUT": (10.0, float),
    # the API level answered: 0.100 (POST /v2/send answers an object) or 0.101 (a list, as signalbot 2.1+ expects)
    "SIGNAL_REST_API_LEVEL": ("0.100", _choice("0.100", "0.101")),
    # a `signal-rest receiver` runs: /v1/receive serves its inbox, webhooks are delivered
    "SIGNAL_REST_RECEIVER": (False, _boolean),
    # the accounts the receiver receives for (comma-separated); default: every account
    "SIGNAL_REST_RECEIVE_ACCOUNTS": ("", str),
    # seconds between two receive runs of one account
    "SIGNAL_REST_RECEIVE_INTERVAL": (10.0, float),
    # seconds one receive run waits for the next message (signal-cli receive -t): how long a send may wait
    "SIGNAL_REST_RECEIVE_WINDOW": (1.0, float),
    # messages one receive run takes at most (signal-cli receive --max-messages)
    "SIGNAL_REST_RECEIVE_MAX_MESSAGES": (100, int),
    # a webhook URL that gets every received envelope
    "SIGNAL_REST_WEBHOOK_URL": ("", str),
    # the HMAC-SHA256 key of the webhook signature header
    "SIGNAL_REST_WEBHOOK_SECRET": ("", str),
    # more webhooks, as JSON: [{"url", "secret"?, "accounts"?: [...], "kinds"?: [...]}]
    "SIGNAL_REST_WEBHOOKS": ("", str),
    # seconds after which a webhook delivery that keeps failing is given up
    "SIGNAL_REST_WEBHOOK_MAX_AGE": (86400.0, float),
    # seconds a handed-out, delivered envelope (and its attachments) is kept
    "SIGNAL_REST_INBOX_MAX_AGE": (7 * 86400.0, float),
    # envelopes kept per account, at most (older handed-out, delivered ones are removed)
    "SIGNAL_REST_INBOX_MAX_COUNT": (10000, int),
    # seconds the answer to a request with an Idempotency-Key is kept for its repeats
    "SIGNAL_REST_IDEMPOTENCY_RETENTION": (86400.0, float),
}

#: settings whose values are secrets (the console shows them masked)
SECRET_SETTINGS = {"SIGNAL_REST_API_TOKENS", "SIGNAL_REST_WEBHOOK_SECRET", "SIGNAL_REST_WEBHOOKS"}


def _convert(name, raw):
    try:
        return SETTINGS[name][1](raw)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def from_environment(environ=None):
    """Return the settings as a dict: the environment's value where set, else the default.

    Raises ``ValueError`` naming the setting whose value is malformed.
    """
    environ = os.environ if environ is None else environ
    values = {}
    for name, (default, _) in SETTINGS.items():
        raw = environ.get(name)
        values[name] = default if raw in (None, "") else _convert(name, raw)
    return values


def checked(values):
    """``values`` (settings given in code, e.g. to create_app) with their text converted and checked."""
    return {
        name: _convert(name, value) if name in SETTINGS and isinstance(value, str) else value
        for name, value in values.items()
    }


def default_account(config):
    """The account used when a request names none, or ``None``."""
    return config.get("SIGNAL_REST_DEFAULT_ACCOUNT") or config.get("PYTHON_SIGNAL_CLI_REST_API_ACCOUNT") or None
