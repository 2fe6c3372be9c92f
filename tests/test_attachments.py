"""Attachments: the files signal-cli stored for received messages; never a file outside their folder."""

import os

import pytest
from conftest import app_settings
from helpers import assert_error
from werkzeug.http import parse_options_header

from signal_rest import create_app

#: the API suite runs in both SIGNAL_REST_MODEs
pytestmark = pytest.mark.service_modes("normal", "json-rpc")

PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(32)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(32)
SECRET = b"TOP SECRET, not an attachment"


def download(client, attachment_id):
    """GET an attachment; returns (status, headers, body) with the response closed."""
    with client.get(f"/v1/attachments/{attachment_id}") as response:
        return response.status_code, response.headers, response.data, response.get_json(silent=True)


@pytest.fixture
def folder(config_dir):
    """The attachments folder signal-cli writes into."""
    path = config_dir / "attachments"
    path.mkdir()
    return path


# --- list ------------------------------------------------------------------------------------------------


def test_list(client, fake, folder):
    for name in ("b.jpg", "Xy12_Ab-Cd=.png", "a"):
        fake.write_attachment(name, PNG)
    # neither folders nor links are attachments
    (folder / "sub").mkdir()
    (folder / "link.png").symlink_to(folder / "a")
    response = client.get("/v1/attachments")
    assert response.status_code == 200
    assert response.get_json() == ["Xy12_Ab-Cd=.png", "a", "b.jpg"]
    assert fake.log() == []


def test_list_without_a_folder(client, fake):
    response = client.get("/v1/attachments")
    assert response.status_code == 200
    assert response.get_json() == []


def test_list_empty_folder(client, folder):
    assert client.get("/v1/attachments/").get_json() == []


# --- download ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "mimetype"),
    [
        ("photo.png", PNG, "image/png"),
        # the bytes decide, not the name
        ("picture.bin", JPEG, "image/jpeg"),
        ("noextension", PNG, "image/png"),
        ("doc_2024-01-01.pdf", PDF, "application/pdf"),
        # no magic: the name's extension, else octet-stream
        ("notes.txt", b"just text", "text/plain"),
        ("mystery", b"\x00\x01\x02unknown", "application/octet-stream"),
        ("Xy12_Ab-Cd=", JPEG, "image/jpeg"),
    ],
)
def test_download(client, fake, name, data, mimetype):
    fake.write_attachment(name, data)
    status, headers, body, _ = download(client, name)
    assert status == 200
    assert body == data
    assert parse_options_header(headers["Content-Type"])[0] == mimetype
    assert parse_options_header(headers["Content-Disposition"]) == ("attachment", {"filename": name})
    assert headers["Content-Length"] == str(len(data))
    assert fake.log() == []


def test_download_an_empty_file(client, fake):
    fake.write_attachment("empty.txt", b"")
    status, headers, body, _ = download(client, "empty.txt")
    assert (status, body) == (200, b"")


@pytest.mark.parametrize("attachment_id", ["missing.png", "Xy12AbCdEf"])
def test_download_unknown_is_404(client, fake, folder, attachment_id):
    status, _, _, body = download(client, attachment_id)
    assert status == 404
    assert body["status"] == 404 and attachment_id in body["message"]


def test_download_without_a_folder_is_404(client, fake):
    assert download(client, "missing.png")[0] == 404


def test_a_folder_is_not_an_attachment(client, fake, folder):
    (folder / "sub").mkdir()
    assert download(client, "sub")[0] == 404


# --- delete ---------------------------------------------------------------------------------------------------


def test_delete(client, fake):
    path = fake.write_attachment("photo.png", PNG)
    fake.write_attachment("other.png", PNG)
    response = client.delete("/v1/attachments/photo.png")
    assert response.status_code == 204
    assert response.data == b""
    assert not os.path.exists(path)
    assert client.get("/v1/attachments").get_json() == ["other.png"]
    assert_error(client.delete("/v1/attachments/photo.png"), 404, "photo.png")
    assert fake.log() == []


def test_delete_unknown_is_404(client, folder):
    assert_error(client.delete("/v1/attachments/missing.png"), 404)


def test_delete_a_folder_is_404(client, folder):
    (folder / "sub").mkdir()
    assert_error(client.delete("/v1/attachments/sub"), 404)
    assert (folder / "sub").is_dir()


# --- never outside the folder -------------------------------------------------------------------------------------

ESCAPES = [
    "..",
    "%2e%2e",
    ".",
    "..%2Fsecret.txt",
    "%2e%2e%2fsecret.txt",
    "%2E%2E%2Fsecret.txt",
    "%2e%2e/secret.txt",
    "..%2F..%2Foutside.txt",
    "%2e%2e%2f%2e%2e%2foutside.txt",
    "..%5Csecret.txt",
    "%252e%252e%252fsecret.txt",
    "..%252fsecret.txt",
    "%2Fetc%2Fpasswd",
    "/etc/passwd",
    "%2F" + "%2F".join(["..", "secret.txt"]),
    "a%00b",
    "secret.txt%00.png",
    "%00",
    "sub%2F..%2F..%2Fsecret.txt",
    "link.png",
    "dirlink%2Fsecret.txt",
    "dirlink",
    ".hidden",
    "-rf",
    "~",
]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A client whose attachments folder holds a real attachment and links planted to point outside
    it, with secret files one and two levels above the folder. Built once: no test may change it.

    Returns (client, folder, the secret files).
    """
    root = tmp_path_factory.mktemp("planted")
    config_dir = root / "config"
    folder = config_dir / "attachments"
    folder.mkdir(parents=True)
    near, far = config_dir / "secret.txt", root / "outside.txt"
    for path in (near, far):
        path.write_bytes(SECRET)
    (folder / "real.png").write_bytes(PNG)
    (folder / "sub").mkdir()
    (folder / "link.png").symlink_to(near)
    (folder / "dirlink").symlink_to(config_dir, target_is_directory=True)
    # nothing here runs signal-cli: a missing one makes any such attempt a 503
    client = create_app(app_settings(root / "no-signal-cli", config_dir)).test_client()
    return client, folder, (near, far)


@pytest.mark.parametrize("attachment_id", ESCAPES)
def test_download_never_escapes_the_folder(planted, attachment_id):
    client, _, _ = planted
    status, headers, body, error = download(client, attachment_id)
    assert status in (400, 404), (status, body[:80])
    assert SECRET not in body
    assert error is not None and error["status"] == status
    assert headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("attachment_id", ESCAPES)
def test_delete_never_escapes_the_folder(planted, attachment_id):
    client, folder, secrets = planted
    response = client.delete(f"/v1/attachments/{attachment_id}")
    assert response.status_code in (400, 404, 405), response.status_code
    assert SECRET not in response.data
    for path in (*secrets, folder / "link.png", folder / "dirlink", folder / "real.png"):
        assert os.path.lexists(path), path
    assert secrets[0].read_bytes() == SECRET


def test_the_planted_links_are_not_listed(planted):
    client, _, _ = planted
    assert client.get("/v1/attachments").get_json() == ["real.png"]


def test_the_real_attachment_is_still_served(planted):
    client, _, _ = planted
    status, _, body, _ = download(client, "real.png")
    assert (status, body) == (200, PNG)
