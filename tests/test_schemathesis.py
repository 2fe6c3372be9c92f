"""Property-based tests of the whole API, generated from its own OpenAPI document (schemathesis).

Every operation of ``/docs/openapi.json`` is one test. Hypothesis draws requests from the
operation's documented parameters and bodies: valid ones, invalid ones, and valid ones whose
numbers, recipients and group ids are replaced by ones the fake signal-cli knows, so that many
requests get past validation and really run signal-cli. Each goes to an app from the real factory,
and each answer is checked:

* no 5xx (schemathesis' ``not_a_server_error``): the fake signal-cli is healthy, so a 5xx is a bug;
* the status is one the operation documents, or a client error of API.md §1 (400, 404, 405);
* the Content-Type, headers and body conform to what the document says for that status, and a
  response with a body has its content documented;
* every error is the one JSON error body of API.md §1.

The fake's state is restored before every request, so an example that unregisters the account or
deletes the group does not turn the following ones into mere 400s. The operations that need a
newer signal-cli than the fake's (polls, pinned messages) must answer 501 naming the version they
need, or a client error for bad input. ``/v1/qrcodelink`` starts a background ``signal-cli link``:
the fake stops waiting for a scan after a moment, the app reaps it, and the test waits for that.
"""

import copy
import time
from http import HTTPStatus

import pytest
import schemathesis
from fake_signal_cli import message_line, uuid_for
from flask.testing import FlaskClient
from helpers import ACCOUNT, OTHER, THIRD, add_group_with_id, api_group_id, b64, openapi_document, release_at_least
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation.feedback import NO_FEEDBACK

pytestmark = pytest.mark.schemathesis


SPEC = openapi_document()
SCHEMA = schemathesis.openapi.from_dict(SPEC)
METHODS = ("get", "put", "post", "delete", "patch")
OPERATIONS = [(method.upper(), path) for path, item in SPEC["paths"].items() for method in item if method in METHODS]

#: operations whose success is an endless stream, which this test's app (without the receiver) refuses
#: with a 400 before it starts: their checks run on those answers, the streams in tests/test_push.py
ENDLESS_STREAMS = {("GET", "/v1/events/{number}")}
#: requests per operation: enough to find the bugs, few enough for CI
MAX_EXAMPLES = 25
#: signal-cli's time limit in these tests: every fake run takes a fraction of a second
CMD_TIMEOUT = 3
#: operations that need a newer signal-cli than 0.13.19, with the release: against an older fake they
#: answer 501 (or a client error), against a new enough one as documented
NEEDS_NEWER_SIGNAL_CLI = {
    ("POST", "/v1/polls/{number}"): "0.13.22",
    ("POST", "/v1/polls/{number}/vote"): "0.13.22",
    ("DELETE", "/v1/polls/{number}"): "0.13.22",
    ("POST", "/v1/groups/{number}/{groupid}/pin-message"): "0.14.0",
    ("DELETE", "/v1/groups/{number}/{groupid}/pin-message"): "0.14.0",
    ("POST", "/v1/stories/{number}"): "0.14.6",
}
#: client errors any operation may answer (API.md §1): bad input, unknown thing or route, wrong method
CLIENT_ERRORS = {400, 404, 405}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

#: a raw group id with '+', '/' and '=' in it, so both id forms and the path routing are exercised
GROUP_ID = b64(b"\xfb\xef\xff" + bytes(29))
ATTACHMENT_ID = "Xy12AbCdEf.jpg"
#: path parameters the fake knows, in the forms API.md §1 accepts, and ones it does not know
KNOWN_PATH_PARAMETERS = [
    {
        "number": ACCOUNT,
        "groupid": api_group_id(GROUP_ID),
        "recipient": OTHER,
        "uuid": OTHER,
        "number_to_trust": OTHER,
        "token": "123-456",
        "device_id": 2,
        "attachment": ATTACHMENT_ID,
    },
    {
        "number": "%2B" + ACCOUNT[1:],
        "groupid": GROUP_ID,
        "recipient": api_group_id(GROUP_ID),
        "uuid": uuid_for(OTHER),
        "number_to_trust": uuid_for(OTHER),
        "token": "123456",
        "device_id": 2,
        "attachment": ATTACHMENT_ID,
    },
    # things the routes name that do not exist: 404 (API.md §1), never a 5xx
    {
        "number": ACCOUNT,
        "groupid": api_group_id(b64(bytes(32))),
        "recipient": THIRD,
        "uuid": uuid_for(THIRD),
        "number_to_trust": THIRD,
        "token": "111-111",
        "device_id": 3,
        "attachment": "missing.jpg",
    },
]
#: body fields replaced by values the fake knows (when the generated body has them)
KNOWN_BODY_VALUES = {
    "number": ACCOUNT,
    "recipients": [OTHER, api_group_id(GROUP_ID)],
    "recipient": OTHER,
    "members": [THIRD],
    "admins": [OTHER],
    "add_members": [THIRD],
    "add_admins": [OTHER],
    "target_author": OTHER,
    "quote_author": OTHER,
    "poll_author": OTHER,
    "groupid": api_group_id(GROUP_ID),
}
KNOWN_QUERY_VALUES = {"numbers": [OTHER, THIRD], "number": ACCOUNT}
STICKER_PACK = {
    "packId": "abcd",
    "url": "https://signal.art/addstickers/#pack_id=abcd&pack_key=ef",
    "installed": True,
    "title": "Title",
    "author": "Author",
    "cover": {"id": 0, "emoji": "😀", "contentType": "image/webp"},
    "stickers": [{"id": 0, "emoji": "😀", "contentType": "image/webp"}],
}
LINKED_DEVICE = {"id": 2, "name": "laptop", "createdTimestamp": 1732630000000, "lastSeenTimestamp": 1732630000000}
#: a request body that passes validation, per operation; its free-text fields are then drawn anew
VALID_BODIES = {
    ("POST", "/v1/configuration"): {"logging": {"level": "debug"}},
    ("POST", "/v1/configuration/{number}/settings"): {"trust_mode": "always"},
    ("POST", "/v2/send"): {"number": ACCOUNT, "recipients": [OTHER, api_group_id(GROUP_ID)], "message": "hi"},
    ("POST", "/v1/send/{recipient}"): {"number": ACCOUNT, "message": "hi"},
    ("POST", "/v1/send"): {"number": ACCOUNT, "recipients": [OTHER], "message": "hi"},
    ("PUT", "/v1/typing-indicator/{number}"): {"recipient": OTHER},
    ("DELETE", "/v1/typing-indicator/{number}"): {"recipient": api_group_id(GROUP_ID)},
    ("DELETE", "/v1/remote-delete/{number}"): {"recipient": OTHER, "timestamp": 1732630000123},
    ("POST", "/v1/polls/{number}"): {"recipient": OTHER, "question": "Lunch?", "answers": ["yes", "no"]},
    ("DELETE", "/v1/polls/{number}"): {"recipient": OTHER, "poll_timestamp": 1732630000123},
    ("POST", "/v1/stories/{number}"): {
        "attachment": (
            "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9a"
            "wAAAABJRU5ErkJggg=="
        )
    },
    ("POST", "/v1/polls/{number}/vote"): {
        "recipient": OTHER,
        "poll_author": OTHER,
        "poll_timestamp": 1732630000123,
        "selected_answers": [1],
    },
    ("POST", "/v1/groups/{number}"): {"name": "New", "members": [OTHER]},
    ("PUT", "/v1/groups/{number}/{groupid}"): {"name": "Renamed", "description": "d"},
    ("PATCH", "/v1/groups/{number}/{groupid}"): {"name": "Renamed", "description": "d"},
    ("POST", "/v1/groups/{number}/{groupid}/members"): {"members": [THIRD]},
    ("DELETE", "/v1/groups/{number}/{groupid}/members"): {"members": [OTHER]},
    ("POST", "/v1/groups/{number}/{groupid}/admins"): {"admins": [OTHER]},
    ("DELETE", "/v1/groups/{number}/{groupid}/admins"): {"admins": [OTHER]},
    ("POST", "/v1/groups/{number}/{groupid}/pin-message"): {"target_author": OTHER, "timestamp": 1732630000123},
    ("DELETE", "/v1/groups/{number}/{groupid}/pin-message"): {"target_author": OTHER, "timestamp": 1732630000123},
    ("POST", "/v1/reactions/{number}"): {
        "reaction": "👍",
        "recipient": OTHER,
        "target_author": OTHER,
        "timestamp": 1732630000123,
    },
    ("DELETE", "/v1/reactions/{number}"): {"recipient": OTHER, "target_author": OTHER, "timestamp": 1732630000123},
    ("POST", "/v1/receipts/{number}"): {"recipient": OTHER, "timestamp": 1732630000123, "receipt_type": "read"},
    ("POST", "/v1/register/{number}"): {},
    ("POST", "/v1/register/{number}/verify/{token}"): {},
    ("POST", "/v1/unregister/{number}"): {},
    ("DELETE", "/v1/devices/{number}/local-data"): {"ignore_registered": True},
    ("POST", "/v1/devices/{number}"): {"uri": "sgnl://linkdevice?uuid=YWJj&pub_key=ZGVm"},
    ("POST", "/v1/accounts/{number}/rate-limit-challenge"): {
        "challenge_token": "challenge-abc",
        "captcha": "signalcaptcha://x",
    },
    ("PUT", "/v1/accounts/{number}/settings"): {"discoverable_by_number": False},
    ("POST", "/v1/accounts/{number}/username"): {"username": "alice.42"},
    ("POST", "/v1/accounts/{number}/pin"): {"pin": "1234"},
    ("PUT", "/v1/profiles/{number}"): {"name": "Ann"},
    ("PUT", "/v1/contacts/{number}"): {"recipient": OTHER, "name": "Ann"},
    ("PUT", "/v1/identities/{number}/trust/{number_to_trust}"): {"trust_all_known_keys": True},
    ("POST", "/v1/sticker-packs/{number}"): {"pack_id": "abcd", "pack_key": "ef"},
}
#: query parameters that pass validation, per operation (drawn in the documented ranges)
VALID_QUERIES = {
    ("GET", "/v1/receive/{number}"): st.fixed_dictionaries(
        {"timeout": st.sampled_from([0, 1, 10, 60])}, optional={"max_messages": st.integers(1, 5)}
    ),
    ("GET", "/v1/qrcodelink"): st.fixed_dictionaries({}, optional={"device_name": st.text(min_size=1, max_size=50)}),
    ("GET", "/v1/qrcodelink/raw"): st.fixed_dictionaries(
        {}, optional={"device_name": st.text(min_size=1, max_size=50)}
    ),
}
#: free-text fields: any text is valid there, so it is drawn at random in the valid bodies
FREE_TEXT = {"message", "name", "description", "about", "family_name", "quote_message", "question"}
RATE_LIMIT_CHALLENGE = ("POST", "/v1/accounts/{number}/rate-limit-challenge")
RATE_LIMITED = "+4915100000003"
RECEIVE = ("GET", "/v1/receive/{number}")
#: operations that act on an account that is not registered yet
REGISTRATION = {("POST", "/v1/register/{number}"), ("POST", "/v1/register/{number}/verify/{token}")}


def _with_known_values(case, use_known):
    """``case`` with the numbers, recipients and group ids of its body and query replaced by known ones."""
    if not use_known:
        return case
    if isinstance(case.body, dict):
        body = copy.deepcopy(case.body)
        body.update({key: value for key, value in KNOWN_BODY_VALUES.items() if key in body})
        case.body = body
    if case.query:
        case.query = {**case.query, **{key: value for key, value in KNOWN_QUERY_VALUES.items() if key in case.query}}
    return case


def _with_text(case, texts):
    """``case`` with its free-text body fields replaced by ``texts``."""
    case.body = {**case.body, **texts}
    return case


def _with_query(case, query):
    """``case`` with ``query`` as its query string."""
    case.query = query
    return case


def case_strategy(operation, valid_body, valid_query):
    """Requests for ``operation``: valid ones (given ``valid_body`` or ``valid_query``, with free text
    drawn at random), then generated valid and invalid ones, with known or random path parameters."""
    names = {parameter.name for parameter in operation.path_parameters}
    has_input = bool(names or list(operation.query) or list(operation.body))
    modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if has_input else [])
    known_paths = [{name: value for name, value in known.items() if name in names} for known in KNOWN_PATH_PARAMETERS]

    def generate(mode, **kwargs):
        # no feedback from earlier responses: the requests depend on nothing but the seed
        return operation.as_strategy(generation_mode=mode, feedback=NO_FEEDBACK, **kwargs)

    strategies = []
    if valid_body is not None:
        texts = st.fixed_dictionaries({}, optional={key: st.text(max_size=300) for key in FREE_TEXT & set(valid_body)})
        valid = st.one_of(
            [generate(GenerationMode.POSITIVE, path_parameters=fixed, body=valid_body) for fixed in known_paths]
        )
        strategies.append(st.tuples(valid, texts).map(lambda pair: _with_text(*pair)))
    if valid_query is not None:
        valid = st.one_of([generate(GenerationMode.POSITIVE, path_parameters=fixed) for fixed in known_paths])
        strategies.append(st.tuples(valid, valid_query).map(lambda pair: _with_query(*pair)))
    for mode in modes:
        strategies += [generate(mode, path_parameters=fixed) for fixed in known_paths if names]
        strategies.append(generate(mode))
    return st.one_of(strategies).flatmap(lambda case: st.booleans().map(lambda known: _with_known_values(case, known)))


def check_status(case, response, needs_newer):
    """The status is documented for the operation, or a client error of API.md §1."""
    documented = {int(code) for code in case.operation.definition.raw["responses"] if code.isdigit()}
    allowed = ({501} if needs_newer else documented) | CLIENT_ERRORS
    assert response.status_code in allowed, (
        f"{case.method} {case.formatted_path} answered {response.status_code}, not one of {sorted(allowed)}: "
        f"{response.content[:500]!r}"
    )


def check_content_is_documented(case, response):
    """A response with a body has a documented content (media type) for its status."""
    responses = case.operation.definition.raw["responses"]
    documented = responses.get(str(response.status_code)) or responses.get("default") or {}
    if "$ref" in documented:
        documented = SPEC["components"]["responses"][documented["$ref"].rsplit("/", 1)[-1]]
    assert not response.content or documented.get("content"), (
        f"{case.method} {case.operation.path} answered {response.status_code} with a "
        f"{response.headers.get('content-type')} body, but its documentation declares no content: "
        f"{response.content[:120]!r}"
    )


def check_error_body(response, needs_newer):
    """An error is the one JSON error body (API.md §1); a 501 names the signal-cli version needed."""
    status = response.status_code
    if status < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    assert isinstance(body, dict), f"{status} without a JSON error body: {response.content[:300]!r}"
    assert body.get("status") == status, body
    assert body.get("description") == HTTPStatus(status).phrase, body
    assert body.get("error") and body.get("error") == body.get("message"), body
    if "errors" in body:
        assert isinstance(body["errors"], dict) and body["errors"], body
    if status == 501:
        assert needs_newer and "signal-cli 0." in body["message"], body


class ClosingClient(FlaskClient):
    """A test client that reads each response whole and closes it (file responses hold a file open)."""

    def open(self, *args, **kwargs):
        """Send the request; return the response, read and closed."""
        response = super().open(*args, **kwargs)
        response.get_data()
        response.close()
        return response


@pytest.fixture
def known_state(fake):
    """Give the fake the users, group, contact, identity, sticker pack, linked device, attachment and
    incoming messages the generated requests name; returns a function that restores that state."""
    fake.add_user(OTHER)
    fake.add_user(THIRD)
    add_group_with_id(fake, GROUP_ID, members=[OTHER], admins=[ACCOUNT, OTHER], description="d")
    fake.add_contact(ACCOUNT, OTHER, name="Ann")
    fake.add_identity(ACCOUNT, OTHER)
    fake.update(lambda state: state["accounts"][ACCOUNT]["sticker_packs"].append(STICKER_PACK))
    fake.update(lambda state: state["accounts"][ACCOUNT]["devices"].append(LINKED_DEVICE))
    # a user whose rate limit a solved captcha lifts (POST /v1/accounts/{number}/rate-limit-challenge)
    fake.add_user(RATE_LIMITED, rate_limited=VALID_BODIES[RATE_LIMIT_CHALLENGE]["challenge_token"])
    fake.queue_messages(ACCOUNT, [message_line(ACCOUNT, OTHER, f"incoming {n}") for n in range(3)])
    # a `signal-cli link` started by /v1/qrcodelink gives up waiting for a scan after a moment
    fake.set_link_timeout(0.3)
    snapshot = fake.load()

    def restore(unregistered=False, keep_inbox=False):
        state = copy.deepcopy(snapshot)
        if keep_inbox:
            # the messages queued at the start are handed out once; later receives find none
            state["accounts"][ACCOUNT]["inbox"] = fake.inbox(ACCOUNT)
        fake.save(state)
        if unregistered:
            fake.add_account(ACCOUNT, registered=False, session=True)
        fake.write_attachment(ATTACHMENT_ID, b"\xff\xd8\xff\xe0" + bytes(60))

    return restore


@pytest.fixture
def api_app(make_app):
    """The app under test; afterwards, no `signal-cli link` it started is left running."""
    app = make_app(SIGNAL_REST_DEFAULT_ACCOUNT=ACCOUNT, SIGNAL_REST_LINK_TIMEOUT=2, SIGNAL_CLI_CMD_TIMEOUT=CMD_TIMEOUT)
    app.test_client_class = ClosingClient
    yield app
    cli = app.extensions["signal_rest.signal_cli"]
    deadline = time.monotonic() + 10
    while cli.pending_links and time.monotonic() < deadline:
        time.sleep(0.05)
    cli.close()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms_to_its_documentation(api_app, known_state, fake_version, method, path):
    operation = SCHEMA[path][method]
    since = NEEDS_NEWER_SIGNAL_CLI.get((method, path))
    needs_newer = since is not None and not release_at_least(fake_version, since)
    checks = [check for check in CHECKS if not (needs_newer and check is not_a_server_error)]
    client = api_app.test_client()
    statuses = []

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        # shrinking a failure would run signal-cli hundreds of times: the first failing request is reported
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=case_strategy(operation, VALID_BODIES.get((method, path)), VALID_QUERIES.get((method, path))))
    def run(case):
        known_state(unregistered=(method, path) in REGISTRATION, keep_inbox=(method, path) == RECEIVE)
        response = case.call(app=api_app, session=client)
        statuses.append(response.status_code)
        check_status(case, response, needs_newer)
        check_error_body(response, needs_newer)
        check_content_is_documented(case, response)
        case.validate_response(response, checks=checks)

    run()
    if (method, path) in ENDLESS_STREAMS:
        assert set(statuses) <= {400, 404}, sorted(set(statuses))
        return
    # the operation was really exercised: some request got past validation
    assert any(status < 400 or status in (404, 501) for status in statuses), sorted(set(statuses))
