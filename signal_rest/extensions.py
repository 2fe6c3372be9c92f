"""Thin subclasses of flask-smorest's Api and Blueprint and marshmallow's Schema.

They carry the conventions every endpoint shares (API.md §1): request bodies are JSON whatever the
Content-Type says (or none), DELETE bodies are read too, unknown keys are ignored, ``null``, ``""``
and ``[]`` mean "absent", and validation failures are 400 in the one error shape.
"""

import itertools
import json
import math
import operator
import re
import threading
from collections.abc import Mapping

import marshmallow as ma
from flask import current_app, g, render_template, request, url_for
from flask_smorest import Api as BaseApi
from flask_smorest import Blueprint as BaseBlueprint
from webargs import core
from webargs.flaskparser import FlaskParser, abort

from . import config, errors

#: bytes read from the request body at a time
_BODY_SLICE = 1 << 20
#: how deep arrays and objects may nest in a request body (the richest real body, a send with a
#: quote, mentions and text styles, nests 4 levels)
MAX_BODY_DEPTH = 64
#: the most digits an integer in a request body may have (timestamps have 13, signal-cli's numbers
#: are Java longs: at most 19)
MAX_INTEGER_DIGITS = 32
#: the longest text a non-integer number in a request body may have
MAX_NUMBER_LENGTH = 64
#: a JSON string (to its end, or to the end of the text when it is not closed). Possessive repeats:
#: matching is linear in the text and keeps no backtracking state.
_JSON_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?')
#: every byte but the brackets, and the brackets as counts (an opening one 2, a closing one 0)
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_BRACKET_COUNTS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


def _check_depth(text):
    """Raise :class:`errors.RefusedBody` if arrays and objects nest deeper than ``MAX_BODY_DEPTH``.

    A scan of the text, not of parsed values: json's parser recurses once per level (a body nested
    100,000 levels deep is a RecursionError in it), so the depth is measured before it runs, by
    counting the brackets outside strings, without recursion and without a Python loop: the strings
    are cut out (an attachment of 25 MB is one match), every byte but the brackets dropped, and the
    depth after the k-th bracket is (2 × opening brackets so far) − k, a running sum. Text that is
    not JSON is left for the parser to refuse.
    """
    brackets = _JSON_STRING.sub("", text).encode().translate(_BRACKET_COUNTS, _NOT_BRACKETS)
    if max(map(operator.sub, itertools.accumulate(brackets), itertools.count(1)), default=0) > MAX_BODY_DEPTH:
        raise errors.RefusedBody(
            f"The request body nests deeper than {MAX_BODY_DEPTH} levels; send at most "
            f"{MAX_BODY_DEPTH} levels of arrays and objects."
        )


def _parse_int(text):
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise errors.RefusedBody(
            f"The request body holds an integer of more than {MAX_INTEGER_DIGITS} digits; "
            f"send integers of at most {MAX_INTEGER_DIGITS} digits."
        )
    return int(text)


def _parse_float(text):
    value = float(text)
    if len(text) > MAX_NUMBER_LENGTH or not math.isfinite(value):
        raise errors.RefusedBody(
            f"The request body holds a number that is out of range or longer than {MAX_NUMBER_LENGTH} "
            f"characters ({text[:20]}…); send finite numbers of ordinary size."
        )
    return value


def _refuse_constant(name):
    raise errors.RefusedBody(f"The request body holds {name}, which is not JSON; send finite numbers only.")


def parse_body(text):
    """``text`` parsed as JSON; raises :class:`errors.RefusedBody` for a body nested deeper than
    ``MAX_BODY_DEPTH`` or holding a number beyond the limits above (``NaN`` and ``Infinity``
    included), and ``json.JSONDecodeError`` for text that is not JSON.

    Numbers are checked by the parser's hooks as they are read, so an integer of thousands of
    digits is refused before Python converts it (which would be a ``ValueError`` past 4300 digits)
    and no schema ever sees such a value.
    """
    _check_depth(text)
    return json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_refuse_constant)


def request_json():
    """The request body parsed as JSON whatever its Content-Type (``missing`` when empty).

    Read once per request, by the token check and the views' parser alike. The body is read in
    slices into one buffer, decoded, and the bytes are dropped before parsing, so a large body (an
    attachment of 25 MB) is held at most twice. Raises ``ValueError`` (``json.JSONDecodeError`` or
    ``UnicodeDecodeError``) for a body that is not JSON, :class:`errors.RefusedBody` (a 400) for
    one :func:`parse_body` will not take in.
    """
    if "signal_rest_json" not in g:
        body = bytearray()
        while chunk := request.stream.read(_BODY_SLICE):
            body += chunk
        try:
            if not body or body.isspace():
                g.signal_rest_json = core.missing
            else:
                text = body.decode("utf-8-sig")
                del body
                g.signal_rest_json = parse_body(text)
        except (ValueError, errors.RefusedBody) as exc:
            # the stream is spent: a second reader (the views' parser after the token check) gets
            # the same refusal, not an empty body
            g.signal_rest_json = exc
    if isinstance(g.signal_rest_json, Exception):
        raise g.signal_rest_json
    return g.signal_rest_json


class LenientParser(FlaskParser):
    """webargs' Flask parser, reading JSON bodies whatever their Content-Type; errors are 400."""

    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req):
        return request_json()

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        abort(400, exc=error, messages={"body": [f"The request body is not valid JSON: {error}."]})


class Schema(ma.Schema):
    """Base schema: unknown keys are ignored; ``null``, ``""`` and ``[]`` mean "absent"."""

    class Meta:
        unknown = ma.EXCLUDE

    @ma.pre_load
    def drop_empty_values(self, data, **kwargs):
        """Remove keys whose value is null, an empty string or an empty list."""
        if not isinstance(data, Mapping):
            raise ma.ValidationError("The request body must be a JSON object.")
        if not isinstance(data, dict):
            # query strings (a MultiDict proxy) keep their repeated keys
            return data
        return {key: value for key, value in data.items() if value not in (None, "", [])}


class Blueprint(BaseBlueprint):
    """flask-smorest Blueprint with the lenient, 400-on-error parser."""

    ARGUMENTS_PARSER = LenientParser()

    def file_response(self, status_code, content_type, description):
        """Like ``response``, for a body of bytes (an image, an attachment): documented as binary."""
        content = {content_type: {"schema": {"type": "string", "format": "binary"}}}

        def decorator(func):
            func = self.response(status_code, description=description)(func)
            return self.doc(responses={str(status_code): {"description": description, "content": content}})(func)

        return decorator

    def string_list_response(self, status_code, description):
        """Like ``response``, for a JSON array of strings (which a marshmallow schema cannot dump)."""
        schema = {"type": "array", "items": {"type": "string"}}
        content = {"application/json": {"schema": schema}}

        def decorator(func):
            func = self.response(status_code, description=description)(func)
            return self.doc(responses={str(status_code): {"description": description, "content": content}})(func)

        return decorator


class Api(BaseApi):
    """flask-smorest Api whose HTTP errors use the service's one error body (and document it).

    Its blueprints' views, and the response of each HTTP status that they refer to, are documented
    when the OpenAPI document is first needed, not when they are registered: writing that document
    costs as much as registering every route, and most apps (every worker that is never asked for
    ``/docs``, every test's app) never serve it. The document is the same either way: the responses
    and headers are registered first, in flask-smorest's order, then the views in the order of their
    blueprints.
    """

    ERROR_SCHEMA = errors.ErrorSchema

    def __init__(self, app=None, **kwargs):
        self._undocumented = []
        self._responses_due = False
        self._documenting = threading.Lock()
        self._writer = None  # the thread writing the document, which sees it as it is
        self._spec = None
        super().__init__(app, **kwargs)

    @property
    def spec(self):
        """The OpenAPI document being built, with every registered blueprint's views in it."""
        if self._undocumented and self._writer != threading.get_ident():
            with self._documenting:
                self._writer = threading.get_ident()
                try:
                    if self._responses_due:
                        self._responses_due = False
                        super()._register_responses()
                        super()._register_etag_headers()
                        super()._register_pagination_header()
                    while self._undocumented:
                        blp, name, parameters = self._undocumented.pop(0)
                        blp.register_views_in_doc(self, self._app, self._spec, name=name, parameters=parameters)
                        self._spec.tag({"name": name, "description": blp.description})
                finally:
                    self._writer = None
        return self._spec

    @spec.setter
    def spec(self, value):
        self._spec = value

    def _register_responses(self):
        """flask-smorest's response of each HTTP status (and its ETag and pagination headers, which
        come after them), registered with the views (see ``spec``)."""
        self._responses_due = True

    def _register_etag_headers(self):
        pass  # with the responses

    def _register_pagination_header(self):
        pass  # with the responses

    def register_blueprint(self, blp, *, parameters=None, **options):
        """Register ``blp`` on the app now and in the OpenAPI document when that is needed (the
        order of registration is kept, so the tags keep their order)."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def handle_http_exception(self, error):
        """Route every HTTP error through :mod:`signal_rest.errors`."""
        return errors.handle_http_exception(error)

    def _openapi_json(self):
        """The OpenAPI document, naming the URL prefix the service is reached under (behind a proxy),
        so that Swagger UI's "Try it out" and generated clients use it."""
        document = {**self.spec.to_dict(), "servers": [{"url": request.script_root or "/"}]}
        return current_app.response_class(json.dumps(document, indent=2), mimetype="application/json")

    def _openapi_swagger_ui(self):
        """Swagger UI, with its assets served by this service (it must work without internet)."""
        return render_template(
            "swagger_ui.html",
            title=self.spec.title,
            spec_url=url_for("api-docs.openapi_json"),
            swagger_ui_url=url_for("swagger_ui_assets", filename=""),
            swagger_ui_config=self.config.get("OPENAPI_SWAGGER_UI_CONFIG", {}),
        )


def account_or_default(number=None):
    """The account a request acts as: the ``number`` it names, else the configured default account
    (``None`` when there is neither)."""
    return number or config.default_account(current_app.config)


def signal_cli():
    """The app's :class:`signal_cli.SignalCli`."""
    return current_app.extensions["signal_rest.signal_cli"]


def service_state():
    """The app's :class:`state.ServiceState`."""
    return current_app.extensions["signal_rest.state"]


def inbox():
    """The app's :class:`receiving.inbox.Inbox`."""
    return current_app.extensions["signal_rest.inbox"]


def push_service():
    """The app's :class:`receiving.push.PushService`."""
    return current_app.extensions["signal_rest.push"]
