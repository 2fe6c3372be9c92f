"""The OpenAPI document: valid, complete, and good enough for a generated client to work."""

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ACCOUNT
from helpers import API_TAGS as TAGS
from live_server import LiveServer
from openapi_spec_validator import validate

#: served but not part of the API
UNDOCUMENTED = {
    "/docs/openapi.json",
    "/docs/",
    "/docs/swagger-ui/{filename}",
    "/swagger",
    "/metrics",
    "/static/{filename}",
}


@pytest.fixture
def spec(client):
    return client.get("/docs/openapi.json").get_json()


def test_the_document_is_valid_openapi(spec):
    validate(spec)


def test_tags_follow_the_api_document(spec):
    assert [tag["name"] for tag in spec["tags"]] == TAGS


def test_every_route_is_documented_with_a_summary_and_responses(app, spec):
    documented = {
        (path, method.upper()) for path, item in spec["paths"].items() for method in item if method != "parameters"
    }
    routes = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        # the web console's pages are for people, not part of the API
        if path in UNDOCUMENTED or rule.endpoint.startswith("console"):
            continue
        routes |= {(path, method) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes - documented == set()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert operation.get("summary"), f"{method} {path} has no summary"
            assert operation["tags"][0] in TAGS
            success = [code for code in operation["responses"] if code.startswith("2")]
            assert success, f"{method} {path} documents no success"
            if method in ("post", "put", "patch") and "requestBody" in operation:
                assert "application/json" in operation["requestBody"]["content"]


def test_the_document_is_the_one_flask_smorest_writes_as_the_app_is_built(make_app, spec, monkeypatch):
    """The service writes its document when it is first asked for (signal_rest.extensions.Api): the
    same document, in the same order, as flask-smorest's own Api writes while the app is built."""
    import flask_smorest

    from signal_rest import extensions

    for name in ("register_blueprint", "_register_responses", "_register_etag_headers", "_register_pagination_header"):
        monkeypatch.setattr(extensions.Api, name, getattr(flask_smorest.Api, name))
    eager = make_app()
    assert eager.extensions["flask-smorest"]["apis"][""]["ext_obj"]._undocumented == []
    written = eager.test_client().get("/docs/openapi.json").get_json()
    assert json.dumps(written) == json.dumps(spec)


def test_errors_are_documented_in_the_service_shape(spec):
    schema = spec["components"]["schemas"]["Error"]
    assert {"error", "message", "status", "description", "errors"} <= set(schema["properties"])


@pytest.fixture
def generated_client(spec, tmp_path):
    """A Python client generated from the document by openapi-python-client."""
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    generator = Path(sys.executable).parent / "openapi-python-client"
    subprocess.run(
        [str(generator), "generate", "--path", "spec.json", "--meta", "none", "--output-path", "signal_rest_client"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("signal_rest_client")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.startswith("signal_rest_client")]:
            del sys.modules[name]


def test_a_generated_client_works(app, fake, generated_client, fake_version):
    from signal_rest_client.api.general import get_v1_about
    from signal_rest_client.api.groups import get_v1_groups_number, post_v1_groups_number
    from signal_rest_client.api.messages import post_v2_send
    from signal_rest_client.models import CreateGroup, SendMessage

    with LiveServer(app) as server:
        client = generated_client.Client(base_url=server.url)
        about = get_v1_about.sync(client=client)
        assert about.signal_cli == fake_version and about.versions == ["v1", "v2"]

        sent = post_v2_send.sync(
            client=client,
            body=SendMessage.from_dict({"number": ACCOUNT, "recipients": ["+4915100000001"], "message": "generated"}),
        )
        assert sent.timestamp.isdigit()
        assert fake.sent_messages()[-1]["message"] == "generated"

        created = post_v1_groups_number.sync(
            number=ACCOUNT, client=client, body=CreateGroup.from_dict({"name": "Generated", "members": []})
        )
        assert created.id.startswith("group.")
        groups = get_v1_groups_number.sync(number=ACCOUNT, client=client)
        assert [group.name for group in groups] == ["Generated"]
        assert groups[0].id == created.id
