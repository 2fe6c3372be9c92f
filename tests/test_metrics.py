"""/metrics: Prometheus text with requests, latency, signal-cli runs, lock waits, busy rejections
and the inbox depth; under gunicorn, the sum over all workers whichever worker is scraped."""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fake_signal_cli import FakeState
from gunicorn_server import Gunicorn
from helpers import ACCOUNT, OTHER, assert_error
from processes import gone
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

GROUPS_ROUTE = "/v1/groups/<number:number>"
SEND = {"number": ACCOUNT, "recipients": [OTHER], "message": "hi"}


class Samples:
    """One scrape: sample name and labels -> value."""

    def __init__(self, text):
        self.text = text
        self.families = {family.name: family for family in text_string_to_metric_families(text)}
        self.values = {}
        for family in self.families.values():
            for sample in family.samples:
                key = (sample.name, frozenset(sample.labels.items()))
                assert key not in self.values, f"{sample.name} {sample.labels} exported twice"
                self.values[key] = sample.value

    def __call__(self, name, **labels):
        """The value of one sample (0 when it is absent)."""
        return self.values.get((name, frozenset(labels.items())), 0)

    def labelled(self, name):
        """Every sample named ``name``, as (labels dict, value)."""
        return [(dict(labels), value) for (sample, labels), value in self.values.items() if sample == name]


def scrape(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return Samples(response.get_data(as_text=True))


def delta(before, after, name, **labels):
    return after(name, **labels) - before(name, **labels)


# --- in one process ---------------------------------------------------------------------------------


def test_metrics_format_and_names(client):
    samples = scrape(client)
    for name, kind in [
        ("signal_rest_requests", "counter"),
        ("signal_rest_request_duration_seconds", "histogram"),
        ("signal_rest_signal_cli_runs", "counter"),
        ("signal_rest_signal_cli_duration_seconds", "histogram"),
        ("signal_rest_lock_wait_seconds", "histogram"),
        ("signal_rest_busy_rejections", "counter"),
        ("signal_rest_inbox_waiting", "gauge"),
    ]:
        assert samples.families[name].type == kind, name
    assert "# HELP signal_rest_requests_total HTTP requests answered" in samples.text
    assert "# TYPE signal_rest_inbox_waiting gauge" in samples.text


def test_requests_by_route_method_and_status(client, fake):
    before = scrape(client)
    for _ in range(3):
        assert client.get(f"/v1/groups/{ACCOUNT}").status_code == 200
    assert client.get(f"/v1/groups/%2B{OTHER[1:]}").status_code == 400
    assert client.post("/v2/send", json=SEND).status_code == 201
    assert client.post("/v2/send", json=SEND).status_code == 201
    assert client.post("/v2/send", json={**SEND, "number": "12"}).status_code == 400
    assert client.get("/no/such/route").status_code == 404
    assert client.delete("/v1/about").status_code == 405
    after = scrape(client)

    def requests(route, method, status):
        return delta(before, after, "signal_rest_requests_total", route=route, method=method, status=str(status))

    assert requests(GROUPS_ROUTE, "GET", 200) == 3
    assert requests(GROUPS_ROUTE, "GET", 400) == 1
    assert requests("/v2/send", "POST", 201) == 2
    assert requests("/v2/send", "POST", 400) == 1
    assert requests("unmatched", "GET", 404) == 1
    # a known route with the wrong method: 405
    assert (
        sum(
            value - before("signal_rest_requests_total", **labels)
            for labels, value in after.labelled("signal_rest_requests_total")
            if labels["method"] == "DELETE" and labels["status"] == "405"
        )
        == 1
    )
    # the first scrape is counted by the second
    assert requests("/metrics", "GET", 200) == 1

    # latency: one observation per request, cumulative buckets, +Inf equal to the count
    assert delta(before, after, "signal_rest_request_duration_seconds_count", route=GROUPS_ROUTE, method="GET") == 4
    assert delta(before, after, "signal_rest_request_duration_seconds_count", route="/v2/send", method="POST") == 3
    assert delta(before, after, "signal_rest_request_duration_seconds_sum", route="/v2/send", method="POST") > 0
    buckets = sorted(
        (float(labels["le"]), value)
        for labels, value in after.labelled("signal_rest_request_duration_seconds_bucket")
        if labels["route"] == GROUPS_ROUTE and labels["method"] == "GET"
    )
    counts = [value for _, value in buckets]
    assert counts == sorted(counts)
    assert buckets[-1] == (
        float("inf"),
        after("signal_rest_request_duration_seconds_count", route=GROUPS_ROUTE, method="GET"),
    )


STANDARD_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def test_methods_chosen_by_clients_do_not_create_series(client):
    # any token is a valid HTTP method: label values taken from it unchecked grow without bound
    # (each one a counter and a 17-sample histogram, kept in every worker's file)
    for index in range(20):
        assert client.open("/no/such/route", method=f"BREW{index}").status_code in (404, 405)
        assert client.open("/v1/about", method=f"SPAM{index}").status_code == 405
    samples = scrape(client)
    methods = {labels["method"] for labels, _ in samples.labelled("signal_rest_requests_total")}
    methods |= {labels["method"] for labels, _ in samples.labelled("signal_rest_request_duration_seconds_count")}
    assert len(methods - STANDARD_METHODS) <= 1, sorted(methods - STANDARD_METHODS)


def test_request_latency_is_measured(make_app, fake):
    fake.set_delay(0.3)
    client = make_app().test_client()
    before = scrape(client)
    assert client.get(f"/v1/groups/{ACCOUNT}").status_code == 200
    after = scrape(client)
    labels = {"route": GROUPS_ROUTE, "method": "GET"}
    assert delta(before, after, "signal_rest_request_duration_seconds_sum", **labels) >= 0.3
    # not in the buckets below 0.25 s
    assert delta(before, after, "signal_rest_request_duration_seconds_bucket", le="0.25", **labels) == 0
    assert delta(before, after, "signal_rest_request_duration_seconds_bucket", le="+Inf", **labels) == 1


def test_signal_cli_runs_by_command_and_exit_code(make_app, fake):
    fake.set_delay(0.2)
    fake.add_fault(command="listGroups", exit=3, stderr="Error while checking account: Closed", times=1)
    fake.add_fault(command="send", exit=4, stderr="Failed to send message due to untrusted identities", times=1)
    client = make_app().test_client()
    before = scrape(client)
    assert_error(client.get(f"/v1/groups/{ACCOUNT}"), 502)
    assert client.get(f"/v1/groups/{ACCOUNT}").status_code == 200
    assert client.get(f"/v1/groups/{ACCOUNT}").status_code == 200
    assert_error(client.post("/v2/send", json=SEND), 409)
    assert client.post("/v2/send", json=SEND).status_code == 201
    assert client.get("/v1/about").status_code == 200
    after = scrape(client)

    def runs(command, exit_code):
        return delta(before, after, "signal_rest_signal_cli_runs_total", command=command, exit_code=str(exit_code))

    assert runs("listGroups", 3) == 1
    assert runs("listGroups", 0) == 2
    assert runs("send", 4) == 1
    assert runs("send", 0) == 1
    assert runs("--version", 0) == 1
    assert delta(before, after, "signal_rest_signal_cli_duration_seconds_count", command="listGroups") == 3
    assert delta(before, after, "signal_rest_signal_cli_duration_seconds_count", command="send") == 2
    # each run slept 0.2 s in the fake
    assert delta(before, after, "signal_rest_signal_cli_duration_seconds_sum", command="listGroups") >= 0.6
    assert delta(before, after, "signal_rest_signal_cli_duration_seconds_bucket", command="listGroups", le="0.1") == 0
    assert len(fake.log()) == 5


def test_a_timed_out_run_is_counted_as_timeout(make_app, fake):
    fake.add_fault(command="listGroups", sleep=30)
    client = make_app(SIGNAL_CLI_CMD_TIMEOUT=0.5).test_client()
    before = scrape(client)
    assert_error(client.get(f"/v1/groups/{ACCOUNT}"), 504)
    after = scrape(client)
    assert delta(before, after, "signal_rest_signal_cli_runs_total", command="listGroups", exit_code="timeout") == 1
    assert delta(before, after, "signal_rest_signal_cli_duration_seconds_sum", command="listGroups") >= 0.5
    assert delta(before, after, "signal_rest_requests_total", route=GROUPS_ROUTE, method="GET", status="504") == 1


def wait_for_start(fake, count=1, timeout=20.0):
    """Wait until ``count`` fake signal-cli processes have started."""
    deadline = time.monotonic() + timeout
    while len([e for e in fake.log(events=True) if e.get("event") == "start"]) < count:
        assert time.monotonic() < deadline, "signal-cli did not start"
        time.sleep(0.02)


def in_thread(function):
    """Run ``function`` in a thread; returns (thread, result list)."""
    result = []
    thread = threading.Thread(target=lambda: result.append(function()))
    thread.start()
    return thread, result


def test_lock_waits(make_app, fake):
    fake.set_delay(0.6)
    app = make_app(SIGNAL_REST_MAX_PROCESSES=4)
    client = app.test_client()
    before = scrape(client)
    first, first_status = in_thread(lambda: app.test_client().get(f"/v1/groups/{ACCOUNT}").status_code)
    wait_for_start(fake)
    # the same account: waits for the first request's lock
    assert client.get(f"/v1/groups/{ACCOUNT}").status_code == 200
    first.join()
    assert first_status == [200]
    assert client.get("/v1/accounts").status_code == 200
    after = scrape(client)
    # two runs took the account's lock (one after waiting), three took a slot
    assert delta(before, after, "signal_rest_lock_wait_seconds_count", kind="account") == 2
    assert delta(before, after, "signal_rest_lock_wait_seconds_count", kind="slot") == 3
    assert delta(before, after, "signal_rest_lock_wait_seconds_sum", kind="account") >= 0.3
    # the waiting one is not among the quick ones
    assert delta(before, after, "signal_rest_lock_wait_seconds_bucket", kind="account", le="0.1") <= 1
    assert delta(before, after, "signal_rest_busy_rejections_total", reason="account_busy") == 0


def test_busy_rejections(make_app, fake):
    fake.add_account(OTHER)
    fake.set_delay(2.0)
    # one account's lock: a second request for it gives up after 0.3 s
    app = make_app(SIGNAL_CLI_LOCK_TIMEOUT=0.3, SIGNAL_REST_MAX_PROCESSES=4)
    client = app.test_client()
    before = scrape(client)
    first, first_status = in_thread(lambda: app.test_client().get(f"/v1/groups/{ACCOUNT}").status_code)
    wait_for_start(fake)
    response = client.get(f"/v1/groups/{ACCOUNT}")
    assert_error(response, 503, "busy")
    assert response.headers["Retry-After"]
    first.join()
    assert first_status == [200]
    after = scrape(client)
    assert delta(before, after, "signal_rest_busy_rejections_total", reason="account_busy") == 1
    assert delta(before, after, "signal_rest_busy_rejections_total", reason="service_busy") == 0
    assert delta(before, after, "signal_rest_requests_total", route=GROUPS_ROUTE, method="GET", status="503") == 1

    # one signal-cli at a time: another account's request finds no free slot
    app = make_app(SIGNAL_CLI_LOCK_TIMEOUT=0.3, SIGNAL_REST_MAX_PROCESSES=1)
    client = app.test_client()
    before = scrape(client)
    first, first_status = in_thread(lambda: app.test_client().get(f"/v1/groups/{ACCOUNT}").status_code)
    wait_for_start(fake, count=2)
    assert_error(client.get(f"/v1/groups/{OTHER}"), 503, "maximum of 1")
    first.join()
    assert first_status == [200]
    after = scrape(client)
    assert delta(before, after, "signal_rest_busy_rejections_total", reason="service_busy") == 1
    assert delta(before, after, "signal_rest_busy_rejections_total", reason="account_busy") == 0
    # the refused request ran nothing
    assert [run["account"] for run in fake.log()] == [ACCOUNT, ACCOUNT]


def test_inbox_depth_per_account(app, client):
    inbox = app.extensions["signal_rest.inbox"]
    assert scrape(client).labelled("signal_rest_inbox_waiting") == []
    for index in range(3):
        inbox.store(ACCOUNT, json.dumps({"envelope": {"source": OTHER, "timestamp": index}, "account": ACCOUNT}))
    inbox.store(OTHER, json.dumps({"envelope": {"source": ACCOUNT, "timestamp": 1}, "account": OTHER}))
    samples = scrape(client)
    assert samples("signal_rest_inbox_waiting", account=ACCOUNT) == 3
    assert samples("signal_rest_inbox_waiting", account=OTHER) == 1
    assert len(inbox.hand_out(ACCOUNT, limit=2)) == 2
    assert scrape(client)("signal_rest_inbox_waiting", account=ACCOUNT) == 1
    inbox.hand_out(ACCOUNT)
    samples = scrape(client)
    assert samples("signal_rest_inbox_waiting", account=ACCOUNT) == 0
    assert samples("signal_rest_inbox_waiting", account=OTHER) == 1


def test_metrics_need_a_token_when_tokens_are_configured(make_app):
    client = make_app(SIGNAL_REST_API_TOKENS="ro:metrics-scraper-token-01").test_client()
    assert_error(client.get("/metrics"), 401)
    response = client.get("/metrics", headers={"Authorization": "Bearer metrics-scraper-token-01"})
    assert response.status_code == 200
    assert "signal_rest_requests_total" in response.get_data(as_text=True)


# --- under gunicorn, with two workers -------------------------------------------------------------------

ABOUT = {"route": "/v1/about", "method": "GET", "status": "200"}


def served_by_worker(metrics_dir, pid, route):
    """How many requests of ``route`` (answered 200) worker ``pid`` counted, read from its own files."""
    files = [str(path) for path in metrics_dir.glob(f"*_{pid}.db")]
    total = 0
    for family in MultiProcessCollector.merge(files):
        for sample in family.samples:
            if sample.name == "signal_rest_requests_total" and sample.labels == {**ABOUT, "route": route}:
                total += sample.value
    return total


@pytest.mark.server
def test_gunicorn_workers_share_their_metrics(tmp_path, fake_bin, config_dir, fake):
    # where the fake logs `signal-cli --version` (it reads no --config)
    version_runs = FakeState(tmp_path / "gunicorn" / "xdg" / "signal-cli")
    with Gunicorn(
        tmp_path / "gunicorn",
        workers=2,
        threads=2,
        SIGNAL_CLI_BIN=fake_bin,
        SIGNAL_CLI_CONFIG_DIR=config_dir,
        SIGNAL_CLI_CMD_TIMEOUT=10,
    ) as server:
        metrics_dir = server.metrics_dir()
        assert metrics_dir is not None and metrics_dir.is_dir()
        workers = server.worker_pids()
        assert len(workers) == 2

        def about(request_id):
            status, headers, body = server.request("GET", "/v1/about", {"X-Request-ID": request_id})
            assert status == 200, body
            assert headers["X-Request-ID"] == request_id
            return request_id

        sent = 0
        per_worker = {}
        with ThreadPoolExecutor(4) as pool:
            # until both workers have answered some (the kernel picks the worker of a connection)
            while sent < 400:
                list(pool.map(about, [f"drive-{sent + i}" for i in range(20)]))
                sent += 20
                per_worker = {pid: served_by_worker(metrics_dir, pid, "/v1/about") for pid in workers}
                if all(per_worker.values()):
                    break
        assert all(per_worker.values()), per_worker
        assert sum(per_worker.values()) == sent
        with ThreadPoolExecutor(3) as pool:
            statuses = list(pool.map(lambda _: server.request("GET", f"/v1/groups/{ACCOUNT}")[0], range(6)))
        assert statuses == [200] * 6
        assert [run["command"] for run in fake.log()] == ["listGroups"] * 6
        assert 1 <= len(version_runs.log()) <= 2
        assert server.worker_pids() == workers

        # every scrape reports all N, whichever worker answers it
        scrapers = {}
        for _ in range(40):
            status, headers, body = server.request("GET", "/metrics")
            assert status == 200
            assert headers["Content-Type"].startswith("text/plain; version=")
            samples = Samples(body.decode())
            assert samples("signal_rest_requests_total", **ABOUT) == sent
            assert samples("signal_rest_request_duration_seconds_count", route="/v1/about", method="GET") == sent
            # signal-cli runs of both workers, as the fake recorded them
            assert samples("signal_rest_signal_cli_runs_total", command="listGroups", exit_code="0") == 6
            assert samples("signal_rest_signal_cli_runs_total", command="--version", exit_code="0") == len(
                version_runs.log()
            )
            scrapers = {pid: served_by_worker(metrics_dir, pid, "/metrics") for pid in workers}
            if all(scrapers.values()) and sum(scrapers.values()) >= 4:
                break
        assert all(scrapers.values()), scrapers
        assert server.stop() == 0

    log = server.stdout()
    for index in range(sent):
        assert log.count(f"request_id=drive-{index}\n") == 1
    assert not metrics_dir.exists()
    assert list(server.tmp.iterdir()) == []
    for pid in workers:
        assert gone(pid)
    assert gone(server.process.pid) or server.process.returncode is not None
