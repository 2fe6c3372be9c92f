"""Search: which numbers are registered, with the searching account chosen in the documented order."""

import pytest
from helpers import ACCOUNT, OTHER, THIRD, assert_error, last_run, words

#: the API suite runs in both SIGNAL_REST_MODEs
pytestmark = pytest.mark.service_modes("normal", "json-rpc")

SECOND_ACCOUNT = "+4915111111111"
LOOKUP = f"numbers={OTHER}"


def test_every_number_in_order(client, fake):
    fake.add_user(THIRD, registered=False)
    response = client.get(f"/v1/search?numbers={THIRD}&numbers={OTHER}")
    assert response.status_code == 200
    assert response.get_json() == [{"number": THIRD, "registered": False}, {"number": OTHER, "registered": True}]
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["getUserStatus", "--", THIRD, OTHER]


@pytest.mark.parametrize(
    "query",
    [
        # a literal '+' in a query string arrives as a space
        f"numbers=+{OTHER[1:]}&numbers=+{THIRD[1:]}",
        f"numbers={OTHER[1:]}&numbers={THIRD[1:]}",
        f"numbers=%2B{OTHER[1:]},%2B{THIRD[1:]}",
        f"numbers={OTHER},&numbers={THIRD}",
        "numbers=%2B49%20151%20000%2000001&numbers=" + THIRD,
    ],
)
def test_numbers_are_normalised_and_split(client, fake, query):
    response = client.get(f"/v1/search/{ACCOUNT}?{query}")
    assert response.status_code == 200
    assert [entry["number"] for entry in response.get_json()] == [OTHER, THIRD]
    assert words(last_run(fake)) == ["getUserStatus", "--", OTHER, THIRD]


@pytest.mark.parametrize(
    ("path", "settings", "account"),
    [
        # the path wins over the query and the default account
        (f"/v1/search/{ACCOUNT}?number={SECOND_ACCOUNT}&{LOOKUP}", {"SIGNAL_REST_DEFAULT_ACCOUNT": THIRD}, ACCOUNT),
        (f"/v1/search/%2B{ACCOUNT[1:]}?{LOOKUP}", {}, ACCOUNT),
        # then the number in the query
        (f"/v1/search?number={SECOND_ACCOUNT}&{LOOKUP}", {"SIGNAL_REST_DEFAULT_ACCOUNT": ACCOUNT}, SECOND_ACCOUNT),
        (f"/v1/search?number=+{SECOND_ACCOUNT[1:]}&{LOOKUP}", {}, SECOND_ACCOUNT),
        # then the default account
        (f"/v1/search?{LOOKUP}", {"SIGNAL_REST_DEFAULT_ACCOUNT": SECOND_ACCOUNT}, SECOND_ACCOUNT),
        (f"/v1/search?{LOOKUP}", {"PYTHON_SIGNAL_CLI_REST_API_ACCOUNT": SECOND_ACCOUNT}, SECOND_ACCOUNT),
    ],
)
def test_searching_account(make_app, fake, path, settings, account):
    fake.add_account(SECOND_ACCOUNT)
    response = make_app(**settings).test_client().get(path)
    assert response.status_code == 200
    assert response.get_json() == [{"number": OTHER, "registered": True}]
    assert [run["command"] for run in fake.log()] == ["getUserStatus"]
    assert last_run(fake)["account"] == account


def test_without_any_account_the_first_registered_one_searches(client, fake):
    # listAccounts lists the registered accounts, sorted: +4915000… is not registered, +4915111… comes first
    fake.add_account("+4915000000000", registered=False)
    fake.add_account(SECOND_ACCOUNT)
    response = client.get(f"/v1/search?numbers={OTHER}")
    assert response.status_code == 200
    assert response.get_json() == [{"number": OTHER, "registered": True}]
    listing, search = fake.log()
    assert listing["command"] == "listAccounts" and "-a" not in listing["argv"]
    assert search["account"] == SECOND_ACCOUNT


def test_no_registered_account_to_search_with(client, fake):
    fake.add_account(ACCOUNT, registered=False)
    assert_error(client.get(f"/v1/search?numbers={OTHER}"), 400, "register")
    assert [run["command"] for run in fake.log()] == ["listAccounts"]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("", None),
        ("numbers=", None),
        ("numbers=%2C", None),
        ("numbers=%2B49abc", "+49abc"),
        (f"numbers={OTHER}&numbers=12", "'12'"),
        ("numbers=-h", "-h"),
        (f"numbers={OTHER},--config=/etc", "--config=/etc"),
    ],
)
def test_bad_numbers(validation_client, query, fragment):
    body = assert_error(validation_client.get(f"/v1/search?{query}"), 400, field="numbers")
    if fragment:
        assert fragment in body["message"]


@pytest.mark.parametrize("account", ["-a", "%2B49abc", "12345"])
def test_bad_searching_account(validation_client, account):
    assert_error(validation_client.get(f"/v1/search?number={account}&numbers={OTHER}"), 400, field="number")
    assert_error(validation_client.get(f"/v1/search/{account}?numbers={OTHER}"), 400)


@pytest.mark.parametrize(
    ("fault", "status", "fragment"),
    [
        ({"exit": 3, "stderr": "Unable to check if users are registered: timeout"}, 502, "Unable to check"),
        ({"exit": 5, "stderr": "Rate limit reached"}, 429, "Rate limit reached"),
    ],
)
def test_signal_cli_errors(client, fake, fault, status, fragment):
    fake.add_fault(command="getUserStatus", **fault)
    assert_error(client.get(f"/v1/search/{ACCOUNT}?numbers={OTHER}"), status, fragment)


def test_unregistered_searching_account(client):
    assert_error(client.get(f"/v1/search/{SECOND_ACCOUNT}?numbers={OTHER}"), 400, "is not registered")
