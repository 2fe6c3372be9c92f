"""Stickers: the account's sticker packs, and installing one from its id and key."""

import pytest
from helpers import ACCOUNT, assert_error, last_run, words

#: the API suite runs in both SIGNAL_REST_MODEs
pytestmark = pytest.mark.service_modes("normal", "json-rpc")

PACK_ID = "0123456789abcdef0123456789abcdef"
PACK_KEY = "fedcba9876543210" * 4
NEW = "+4915122222222"


def add_pack(fake, **pack):
    fake.update(lambda state: state["accounts"][ACCOUNT]["sticker_packs"].append(pack))


def test_list_sticker_packs(client, fake):
    add_pack(
        fake,
        packId=PACK_ID,
        url=f"https://signal.art/addstickers/#pack_id={PACK_ID}&pack_key={PACK_KEY}",
        installed=True,
        title="Cats",
        author="-h",
        cover={"id": 0, "emoji": "🐱"},
        stickers=[{"id": 0, "emoji": "🐱", "contentType": "image/webp"}],
    )
    add_pack(fake, packId="abcd", url=None, installed=False, title=None, author=None, stickers=[])
    response = client.get(f"/v1/sticker-packs/{ACCOUNT}")
    assert response.status_code == 200
    assert response.get_json() == [
        {
            "pack_id": PACK_ID,
            "url": f"https://signal.art/addstickers/#pack_id={PACK_ID}&pack_key={PACK_KEY}",
            "installed": True,
            "title": "Cats",
            "author": "-h",
        },
        {"pack_id": "abcd", "url": None, "installed": False, "title": None, "author": None},
    ]
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["listStickerPacks"]


def test_no_sticker_packs(client, fake):
    assert client.get(f"/v1/sticker-packs/{ACCOUNT}").get_json() == []


@pytest.mark.parametrize(("pack_id", "pack_key"), [(PACK_ID, PACK_KEY), (PACK_ID.upper(), PACK_KEY.upper())])
def test_add_sticker_pack(client, fake, pack_id, pack_key):
    response = client.post(f"/v1/sticker-packs/{ACCOUNT}", json={"pack_id": pack_id, "pack_key": pack_key})
    assert response.status_code == 201
    uri = f"https://signal.art/addstickers/#pack_id={PACK_ID}&pack_key={PACK_KEY}"
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["addStickerPack", f"--uri={uri}"]
    listed = client.get(f"/v1/sticker-packs/{ACCOUNT}").get_json()
    assert listed == [{"pack_id": PACK_ID, "url": uri, "installed": True, "title": None, "author": None}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"pack_key": PACK_KEY}, "pack_id"),
        ({"pack_id": None, "pack_key": PACK_KEY}, "pack_id"),
        ({"pack_id": "xyz", "pack_key": PACK_KEY}, "pack_id"),
        ({"pack_id": "-ab", "pack_key": PACK_KEY}, "pack_id"),
        ({"pack_id": "ab&pack_key=00", "pack_key": PACK_KEY}, "pack_id"),
        ({"pack_id": "a", "pack_key": PACK_KEY}, "pack_id"),
        ({"pack_id": "a" * 129, "pack_key": PACK_KEY}, "pack_id"),
        ({"pack_id": 1234, "pack_key": PACK_KEY}, "pack_id"),
        # a regex's "$" also matches before a final newline
        ({"pack_id": "abcd\n", "pack_key": PACK_KEY}, "pack_id"),
        ({"pack_id": PACK_ID}, "pack_key"),
        ({"pack_id": PACK_ID, "pack_key": "key!"}, "pack_key"),
        ({"pack_id": PACK_ID, "pack_key": "--uri"}, "pack_key"),
        ({"pack_id": PACK_ID, "pack_key": "abcd\n"}, "pack_key"),
    ],
)
def test_add_sticker_pack_bad_input(validation_client, body, field):
    assert_error(validation_client.post(f"/v1/sticker-packs/{ACCOUNT}", json=body), 400, field=field)


def test_add_sticker_pack_network_failure(client, fake):
    fake.add_fault(command="addStickerPack", exit=3, stderr="Failed to download sticker pack (IOException)")
    assert_error(client.post(f"/v1/sticker-packs/{ACCOUNT}", json={"pack_id": PACK_ID, "pack_key": PACK_KEY}), 502)


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("number", ["+49abc", "-a"])
def test_bad_number(validation_client, method, number):
    response = getattr(validation_client, method)(
        f"/v1/sticker-packs/{number}", json={"pack_id": PACK_ID, "pack_key": PACK_KEY}
    )
    assert_error(response, 400, number)


@pytest.mark.parametrize("method", ["get", "post"])
def test_unregistered_account(client, fake, method):
    fake.add_account(NEW, registered=False)
    response = getattr(client, method)(f"/v1/sticker-packs/{NEW}", json={"pack_id": PACK_ID, "pack_key": PACK_KEY})
    assert_error(response, 400, "not registered")
