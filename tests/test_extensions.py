"""Request bodies the service will not take in: nested too deep or holding numbers too large are a
400 naming the problem on every route (and in the token check), never a 500, and no schema sees them."""

import json

import pytest
from helpers import ACCOUNT, OTHER, api_group_id, assert_error, b64, openapi_document

from signal_rest.extensions import MAX_BODY_DEPTH, MAX_INTEGER_DIGITS, parse_body

TOKEN = "hostile-Token_0123456789"
#: a value for every path parameter of the API
PATH_VALUES = {
    "number": ACCOUNT,
    "groupid": api_group_id(b64(b"\xfb\xef\xff" + bytes(29))),
    "recipient": OTHER,
    "uuid": OTHER,
    "number_to_trust": OTHER,
    "token": "123-456",
    "device_id": "2",
    "attachment": "Xy12AbCdEf.jpg",
}
DEEP = "[" * 100_000 + "]" * 100_000
HUGE = "9" * 5000
DEPTH_PROBLEM = f"nests deeper than {MAX_BODY_DEPTH} levels"
NUMBER_PROBLEM = f"integer of more than {MAX_INTEGER_DIGITS} digits"
METHODS = ("get", "put", "post", "delete", "patch")


SPEC = openapi_document()
OPERATIONS = [
    (method, path, operation)
    for path, item in SPEC["paths"].items()
    for method, operation in item.items()
    if method in METHODS
]
WITH_BODY = [(method, path, op) for method, path, op in OPERATIONS if "requestBody" in op]
#: routes without a body that leave a process running (a device link waiting to be scanned)
LASTING = ("/v1/qrcodelink", "/v1/qrcodelink/raw")
WITHOUT_BODY = [
    (method, path, op) for method, path, op in OPERATIONS if "requestBody" not in op and path not in LASTING
]


def url(path):
    """``path`` with its parameters filled in."""
    return path.format(**PATH_VALUES)


def body_properties(operation):
    """The names of the top-level properties of an operation's JSON body."""
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return sorted(schema.get("properties", {}))


def hostile_bodies(operation):
    """(text, the problem the answer names): the bare hostile values, then each inside an otherwise
    well-formed body, in the operation's properties taken in turn. The whole text is measured and
    parsed before anything reads a property, so which property holds a value changes nothing;
    ``test_a_hostile_value_is_refused_in_every_property_of_a_send`` shows it once for every one."""
    yield DEEP, DEPTH_PROBLEM
    yield HUGE, NUMBER_PROBLEM
    yield f'{{"number": "{ACCOUNT}", "x": {{"y": [1, {HUGE}]}}}}', NUMBER_PROBLEM
    names = body_properties(operation) if operation else []
    for index, (value, problem) in enumerate(IN_A_PROPERTY if names else ()):
        yield f'{{"number": "{ACCOUNT}", {json.dumps(names[index % len(names)])}: {value}}}', problem


#: hostile values inside a property, with the problem named
IN_A_PROPERTY = [(DEEP, DEPTH_PROBLEM), (f"-{HUGE}", NUMBER_PROBLEM), ('[{"a": 1.5e999}]', "out of range")]


def send(client, method, path, text, **headers):
    return client.open(url(path), method=method.upper(), data=text, content_type="application/json", headers=headers)


@pytest.fixture
def refusing_apps(make_app, tmp_path):
    """Two apps whose signal-cli does not exist (a body wrongly taken in is a 503, not a 400): one
    open, one whose only token is limited to ACCOUNT (so the token check reads the body)."""
    missing = str(tmp_path / "no-signal-cli")
    return {
        "open": (make_app(SIGNAL_CLI_BIN=missing).test_client(), {}),
        "token": (
            make_app(SIGNAL_CLI_BIN=missing, SIGNAL_REST_API_TOKENS=f"{TOKEN}@{ACCOUNT}").test_client(),
            {"Authorization": f"Bearer {TOKEN}"},
        ),
    }


@pytest.mark.fake_signal_cli("0.14.6")
@pytest.mark.parametrize("access", ["open", "token"])
@pytest.mark.parametrize(("method", "path", "operation"), WITH_BODY, ids=[f"{m.upper()} {p}" for m, p, _ in WITH_BODY])
def test_hostile_bodies_are_400_naming_the_problem(refusing_apps, access, method, path, operation):
    client, headers = refusing_apps[access]
    for text, problem in hostile_bodies(operation):
        body = assert_error(send(client, method, path, text, **headers), 400, problem)
        assert body["errors"] == {"body": [body["message"]]}


@pytest.mark.fake_signal_cli("0.14.6")
@pytest.mark.parametrize("access", ["open", "token"])
def test_a_hostile_value_is_refused_in_every_property_of_a_send(refusing_apps, access):
    client, headers = refusing_apps[access]
    (operation,) = [op for method, path, op in WITH_BODY if (method, path) == ("post", "/v2/send")]
    for name in body_properties(operation):
        for value, problem in IN_A_PROPERTY:
            text = f'{{"number": "{ACCOUNT}", {json.dumps(name)}: {value}}}'
            assert_error(send(client, "post", "/v2/send", text, **headers), 400, problem)


@pytest.mark.fake_signal_cli("0.14.6")
@pytest.mark.parametrize(
    ("method", "path", "operation"), WITHOUT_BODY, ids=[f"{m.upper()} {p}" for m, p, _ in WITHOUT_BODY]
)
def test_routes_without_a_body_are_not_upset_by_a_hostile_one(make_app, method, path, operation):
    open_client = make_app().test_client()
    limited = make_app(SIGNAL_REST_API_TOKENS=f"{TOKEN}@{ACCOUNT}").test_client()
    for text, problem in hostile_bodies(None):
        answer = send(open_client, method, path, text)
        assert answer.status_code < 500 or answer.status_code == 501, (text[:40], answer.get_data(as_text=True))
        # an account-limited token looks for the account in the body (where the route names none in
        # its path) and refuses the body first
        answer = send(limited, method, path, text, Authorization=f"Bearer {TOKEN}")
        assert answer.status_code < 500 or answer.status_code == 501, (text[:40], answer.get_data(as_text=True))
        if "{number}" not in path and answer.status_code == 400:
            assert_error(answer, 400, problem)


def test_a_body_within_the_limits_is_taken_in(validation_client):
    # the object around it is one level
    nested = "[" * (MAX_BODY_DEPTH - 1) + "]" * (MAX_BODY_DEPTH - 1)
    assert parse_body(f'{{"a": {nested}, "n": {"9" * MAX_INTEGER_DIGITS}, "f": -1.5e300}}') == {
        "a": json.loads(nested),
        "n": int("9" * MAX_INTEGER_DIGITS),
        "f": -1.5e300,
    }
    # brackets inside strings (escaped quotes included) do not count
    text = json.dumps({"message": "[" * 1000 + '\\"{' * 1000, "recipients": [OTHER]})
    assert parse_body(text)["message"].startswith("[[[")
    # the service takes such a body to the schema (which refuses it for what it lacks, not for its form)
    answer = validation_client.post("/v2/send", data=text, content_type="application/json")
    assert_error(answer, 400, "number")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[" * (MAX_BODY_DEPTH + 1) + "]" * (MAX_BODY_DEPTH + 1), DEPTH_PROBLEM),
        ('{"a":' * 100_000, DEPTH_PROBLEM),
        ("[" * 100_000, DEPTH_PROBLEM),
        ("1" * (MAX_INTEGER_DIGITS + 1), NUMBER_PROBLEM),
        ("-" + "1" * (MAX_INTEGER_DIGITS + 1), NUMBER_PROBLEM),
        ("[1e999]", "out of range"),
        ("[-1e999]", "out of range"),
        ("0." + "1" * 100, "longer than"),
        ('{"a": NaN}', "NaN"),
        ('{"a": Infinity}', "Infinity"),
        ('{"a": -Infinity}', "-Infinity"),
    ],
)
def test_refusals_name_the_problem(validation_client, text, problem):
    assert_error(validation_client.post("/v2/send", data=text, content_type="application/json"), 400, problem)


@pytest.mark.parametrize("text", ['["[[[[', '"\\', '{"a": "\\"' + "[" * 100 + "}"])
def test_unclosed_strings_are_not_json_not_too_deep(validation_client, text):
    assert_error(validation_client.post("/v2/send", data=text, content_type="application/json"), 400, "not valid JSON")


def test_invalid_json_is_refused_the_same_after_the_token_check(make_app):
    limited = make_app(SIGNAL_REST_API_TOKENS=f"{TOKEN}@{ACCOUNT}", SIGNAL_REST_DEFAULT_ACCOUNT=ACCOUNT).test_client()
    answer = limited.post(
        "/v2/send", data="{bad", content_type="application/json", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert_error(answer, 400, "not valid JSON")
