"""Behind a reverse proxy: with SIGNAL_REST_PROXY_COUNT the X-Forwarded-* headers are trusted, so
Swagger UI, openapi.json and redirects work under a sub-path; without it they are ignored. The
README's nginx and Caddy snippets are replayed header by header."""

import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from flask import request
from helpers import ACCOUNT, OTHER

README = Path(__file__).resolve().parent.parent / "README.rst"
CLIENT = "203.0.113.7"
FORWARDED = {
    "X-Forwarded-Prefix": "/signal",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "example.org",
    "X-Forwarded-For": f"198.51.100.1, {CLIENT}",
}
PEER = {"REMOTE_ADDR": "127.0.0.1"}


def recording(app):
    """Record, for each request, what the app believes about where it came from."""
    seen = []

    @app.after_request
    def remember(response):
        seen.append(
            {
                "remote_addr": request.remote_addr,
                "scheme": request.scheme,
                "host": request.host,
                "script_root": request.script_root,
                "url_root": request.url_root,
            }
        )
        return response

    return seen


def swagger_ui_urls(html):
    """The spec URL and the asset URLs of the Swagger UI page."""
    spec = re.findall(r'url: "([^"]+)"', html)
    assets = re.findall(r'(?:href|src)="([^"]+)"', html)
    assert len(spec) == 1 and len(assets) == 3, html
    return spec[0], assets


def spec_base(spec_url, spec):
    """The base URL that Swagger UI's "Try it out" (any OpenAPI 3 client) calls: the first server's
    url (``/`` when there is none) resolved against where the document was served."""
    servers = spec.get("servers") or [{"url": "/"}]
    base = urljoin(spec_url, servers[0]["url"])
    return base if base.endswith("/") else base + "/"


# --- headers set by hand ----------------------------------------------------------------------------


@pytest.fixture
def proxied(make_app):
    app = make_app(SIGNAL_REST_PROXY_COUNT=1)
    return app.test_client(), recording(app)


def test_swagger_ui_under_the_prefix(proxied):
    client, seen = proxied
    response = client.get("/docs/", headers=FORWARDED, environ_base=PEER)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    spec, assets = swagger_ui_urls(response.get_data(as_text=True))
    assert spec == "/signal/docs/openapi.json"
    assert sorted(assets) == [
        "/signal/docs/swagger-ui/swagger-ui-bundle.js",
        "/signal/docs/swagger-ui/swagger-ui-standalone-preset.js",
        "/signal/docs/swagger-ui/swagger-ui.css",
    ]
    assert seen[-1] == {
        "remote_addr": CLIENT,
        "scheme": "https",
        "host": "example.org",
        "script_root": "/signal",
        "url_root": "https://example.org/signal/",
    }
    # the proxy strips the prefix: each URL of the page is served
    for url in [spec, *assets]:
        with client.get(url.removeprefix("/signal"), headers=FORWARDED, environ_base=PEER) as answer:
            assert answer.status_code == 200, url
            assert len(answer.data) > 1000, url


def test_swagger_redirect_under_the_prefix(proxied):
    client, _ = proxied
    response = client.get("/swagger", headers=FORWARDED, environ_base=PEER)
    assert response.status_code in (301, 302, 303, 307, 308)
    location = response.headers["Location"]
    # Flask sends the path (a relative reference): it must carry the prefix
    assert location in ("/signal/docs/", "https://example.org/signal/docs/")
    assert urljoin("https://example.org/signal/swagger", location) == "https://example.org/signal/docs/"


def test_openapi_json_under_the_prefix(proxied):
    client, seen = proxied
    response = client.get("/docs/openapi.json", headers=FORWARDED, environ_base=PEER)
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"] == "3.0.3"
    assert "/v2/send" in spec["paths"]
    assert seen[-1]["url_root"] == "https://example.org/signal/"


def test_try_it_out_calls_the_api_under_the_prefix(proxied):
    client, _ = proxied
    spec = client.get("/docs/openapi.json", headers=FORWARDED, environ_base=PEER).get_json()
    # Swagger UI sends "Try it out" requests to the spec's server; without one, to "/" of the host,
    # i.e. https://example.org/v2/send, which the proxy does not pass to the service
    base = spec_base("https://example.org/signal/docs/openapi.json", spec)
    assert urljoin(base, "v2/send") == "https://example.org/signal/v2/send"


def test_api_calls_through_the_prefix(proxied, fake):
    client, seen = proxied
    body = {"number": ACCOUNT, "recipients": [OTHER], "message": "via the proxy"}
    response = client.post("/v2/send", json=body, headers=FORWARDED, environ_base=PEER)
    assert response.status_code == 201
    assert fake.sent_messages()[-1]["message"] == "via the proxy"
    assert seen[-1]["url_root"] == "https://example.org/signal/"


def test_headers_are_ignored_without_proxy_count(make_app):
    app = make_app(SIGNAL_REST_PROXY_COUNT=0)
    seen = recording(app)
    client = app.test_client()
    response = client.get("/docs/", headers=FORWARDED, environ_base=PEER)
    assert response.status_code == 200
    spec, assets = swagger_ui_urls(response.get_data(as_text=True))
    assert spec == "/docs/openapi.json"
    assert all(asset.startswith("/docs/swagger-ui/") for asset in assets)
    assert seen[-1] == {
        "remote_addr": "127.0.0.1",
        "scheme": "http",
        "host": "localhost",
        "script_root": "",
        "url_root": "http://localhost/",
    }
    location = client.get("/swagger", headers=FORWARDED, environ_base=PEER).headers["Location"]
    assert urljoin("http://localhost/swagger", location) == "http://localhost/docs/"
    assert "signal" not in location and "example.org" not in location
    assert client.get("/docs/openapi.json", headers=FORWARDED, environ_base=PEER).status_code == 200
    # the prefix is not a route of its own either
    assert client.get("/signal/docs/", headers=FORWARDED, environ_base=PEER).status_code == 404


def test_only_the_trusted_hops_count(make_app):
    app = make_app(SIGNAL_REST_PROXY_COUNT=1)
    seen = recording(app)
    # a client cannot claim another address: the proxy appended the address it saw last
    app.test_client().get("/v1/health", headers={"X-Forwarded-For": f"10.0.0.1, {CLIENT}"}, environ_base=PEER)
    assert seen[-1]["remote_addr"] == CLIENT
    app = make_app(SIGNAL_REST_PROXY_COUNT=2)
    seen = recording(app)
    app.test_client().get("/v1/health", headers={"X-Forwarded-For": f"10.0.0.1, {CLIENT}"}, environ_base=PEER)
    assert seen[-1]["remote_addr"] == "10.0.0.1"


# --- the README's snippets, replayed -----------------------------------------------------------------

#: what nginx puts in for its variables, for a request to https://example.org from CLIENT
NGINX_VARIABLES = {
    "$proxy_add_x_forwarded_for": CLIENT,
    "$remote_addr": CLIENT,
    "$scheme": "https",
    "$host": "example.org",
    "$http_host": "example.org",
}


def readme_section(title):
    """The text of the README section ``title`` (up to the next title of any level)."""
    lines = README.read_text("utf-8").splitlines()
    start = lines.index(title)
    end = len(lines)
    for index in range(start + 2, len(lines) - 1):
        underline = lines[index + 1]
        if (
            lines[index].strip()
            and len(underline) >= 3
            and set(underline) <= set("=-~^\"'`#*+")
            and len(set(underline)) == 1
        ):
            end = index
            break
    return "\n".join(lines[start:end])


def nginx_proxy(section):
    """(proxy count, path mapper, headers) of the README's nginx snippet."""
    location = re.search(r"^\s*location\s+(\S+)\s*\{", section, re.M)[1]
    target = urlsplit(re.search(r"^\s*proxy_pass\s+(\S+);", section, re.M)[1])
    assert target.hostname == "127.0.0.1", target
    headers = {}
    for name, template in re.findall(r"^\s*proxy_set_header\s+(\S+)\s+(.+?);", section, re.M):
        value = template
        for variable in re.findall(r"\$\w+", template):
            assert variable in NGINX_VARIABLES, f"the test does not know nginx's {variable}"
            value = value.replace(variable, NGINX_VARIABLES[variable])
        headers[name] = value
    headers.setdefault("Host", target.netloc)

    def backend_path(public_path):
        assert public_path.startswith(location), f"{public_path} does not reach the service"
        # proxy_pass with a URI replaces the matched location prefix by that URI
        return (target.path + public_path[len(location) :]) if target.path else public_path

    return headers, backend_path


def caddy_proxy(section):
    """(path mapper, headers) of the README's Caddy snippet."""
    site = re.search(r"^\s*([\w.-]+)\s*\{", section, re.M)[1]
    matcher = re.search(r"^\s*handle_path\s+(\S+)\s*\{", section, re.M)[1]
    assert matcher.endswith("/*"), matcher
    strip = matcher[:-2]
    upstream = re.search(r"^\s*reverse_proxy\s+(\S+)", section, re.M)[1]
    assert upstream.startswith("127.0.0.1:"), upstream
    # reverse_proxy sets these itself (and passes Host on unchanged)
    headers = {"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https", "X-Forwarded-Host": site, "Host": site}
    for name, value in re.findall(r"^\s*header_up\s+\+?(\S+)\s+(.+?)\s*$", section, re.M):
        assert "{" not in value, f"the test does not know Caddy's placeholder in {value}"
        headers[name] = value

    def backend_path(public_path):
        assert public_path.startswith(strip + "/"), f"{public_path} does not reach the service"
        return public_path[len(strip) :]

    return headers, backend_path


@pytest.fixture(scope="module")
def proxy_section():
    return readme_section("Behind a reverse proxy")


def test_readme_snippets_are_there(proxy_section):
    assert len(re.findall(r"^\s*proxy_set_header\s", proxy_section, re.M)) >= 4
    assert re.search(r"^\s*header_up\s", proxy_section, re.M)
    assert re.search(r"SIGNAL_REST_PROXY_COUNT=1\b", proxy_section)


@pytest.mark.parametrize("proxy", [nginx_proxy, caddy_proxy], ids=["nginx", "caddy"])
def test_readme_proxy_snippet(make_app, fake, proxy_section, proxy):
    proxy_count = int(re.search(r"SIGNAL_REST_PROXY_COUNT=(\d+)", proxy_section)[1])
    headers, backend_path = proxy(proxy_section)
    app = make_app(SIGNAL_REST_PROXY_COUNT=proxy_count)
    seen = recording(app)
    client = app.test_client()

    def fetch(public_url, method="GET", **kwargs):
        """Send ``public_url`` (on https://example.org) through the proxy."""
        parts = urlsplit(urljoin("https://example.org/", public_url))
        assert (parts.scheme, parts.netloc) == ("https", "example.org"), public_url
        path = backend_path(parts.path) + (f"?{parts.query}" if parts.query else "")
        with client.open(path, method=method, headers=headers, environ_base=PEER, **kwargs) as response:
            response.get_data()
        return response

    # the README's addresses of the docs and of the API
    documented = re.findall(r"``(https://example\.org/\S+?)``", proxy_section)
    docs = next(url for url in documented if "/docs" in url)
    api = next(url for url in documented if url.endswith("/v2/send"))
    page = fetch(docs)
    assert page.status_code == 200
    assert seen[-1]["remote_addr"] == CLIENT
    assert seen[-1]["url_root"] == "https://example.org/signal/"
    spec_url, assets = swagger_ui_urls(page.get_data(as_text=True))
    for url in [spec_url, *assets]:
        assert url.startswith("/signal/docs/"), url
        assert fetch(url).status_code == 200, url
    spec = fetch(spec_url).get_json()
    assert "/v2/send" in spec["paths"]

    redirect = fetch("/signal/swagger")
    assert redirect.status_code in (301, 302, 303, 307, 308)
    target = urljoin("https://example.org/signal/swagger", redirect.headers["Location"])
    assert target == "https://example.org/signal/docs/"
    assert fetch(target).status_code == 200

    sent = fetch(api, method="POST", json={"number": ACCOUNT, "recipients": [OTHER], "message": "proxied"})
    assert sent.status_code == 201
    assert fake.sent_messages()[-1]["message"] == "proxied"
