"""Load test: signal_rest under gunicorn, driven hard, then checked against what signal-cli saw.

Usage: ``python tests/loadtest.py [--short] [--requests N] [--concurrency N] [--duration SECONDS] ...``
(``make load`` runs the full version; tests/test_load.py runs ``--short`` in CI).

It starts gunicorn with the package's own settings (``signal_rest.gunicorn_conf``: several workers
and threads) on 127.0.0.1, in front of the fake signal-cli with a realistic time per call, several
registered accounts with groups, and incoming messages waiting (more keep arriving during the run).
A bounded number of requests (sends with attachments to people and groups, group reads, receives),
spread over the accounts, is sent by many concurrent clients; no new request starts after the time
bound. Then every answer is checked against the fake's records:

* every request got exactly one answer (its own request id, once in the access log), and a 2xx;
* one account never ran two signal-cli processes at once, and never more than
  SIGNAL_REST_MAX_PROCESSES ran at once;
* first come, first served: a send never reached signal-cli before a send to the same account that
  was issued 0.25 s or more before it;
* every accepted send reached signal-cli exactly once (a unique marker in each message, found in
  the stdin signal-cli read), with its attachment's bytes; a refused one not at all;
* every incoming message was handed out exactly once across all receive calls;
* after shutdown no signal-cli process and no temporary file is left.

It prints requests, concurrency, throughput, latency percentiles and errors by status, beside
those of a perfect first-come-first-served service for the same traffic (see
:func:`perfect_fcfs_latencies`), and exits non-zero if any check fails. Only 127.0.0.1 is contacted; it stops by itself.
"""

import argparse
import base64
import hashlib
import heapq
import http.client
import json
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_signal_cli import FakeState, message_line, write_executable  # noqa: E402
from service_process import LOOPBACK, GunicornService  # noqa: E402

PROFILES = {
    "full": {
        "accounts": 6,
        "groups": 2,
        "workers": 4,
        "threads": 8,
        "concurrency": 32,
        "requests": 600,
        "delay": 0.3,
        "incoming": 20,
        "duration": 180.0,
        "max_processes": 6,
    },
    "short": {
        "accounts": 3,
        "groups": 1,
        "workers": 2,
        "threads": 4,
        "concurrency": 8,
        "requests": 48,
        "delay": 0.05,
        "incoming": 4,
        "duration": 30.0,
        "max_processes": 3,
    },
}
#: the share of each kind of request
MIX = (("send", 0.55), ("groups", 0.2), ("receive", 0.25))
PEERS = ["+4915100000001", "+4915100000002", "+4915100000003"]
#: seconds a client waits for one answer
CLIENT_TIMEOUT = 120.0
#: a send issued this much later than another of its account must not reach signal-cli first (the
#: slack covers two requests' own ways through HTTP, parsing and validation up to their turn)
OVERTAKING_SLACK = 0.25
#: the unique marker in each planned send's message (see Load.request)
MARKER = re.compile(r"out-\d+-[0-9a-f]{12}")


def account_number(index):
    """The phone number of the ``index``-th account."""
    return f"+49151000100{index:02d}"


def api_group_id(raw):
    """The standard API's ``group.`` form of a signal-cli group id."""
    return "group." + base64.b64encode(raw.encode()).decode()


def percentile(values, fraction):
    """The ``fraction`` percentile of ``values`` (nearest rank), or 0."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(fraction * len(ordered) + 0.5)) - 1))]


def perfect_fcfs_latencies(planned, clients, service):
    """The latencies the same plan would see from a perfect first-come-first-served service:
    ``clients`` clients each sending the next planned request as soon as their last one is
    answered, every account serving its requests one at a time in the order they came, the k-th
    request of an account taking ``service[account][k]`` seconds (its signal-cli run in this run),
    and nothing else taking any time: no HTTP, no hand-over between two runs. No scheduler that
    runs one signal-cli per account at a time does better for this plan.

    Its p99 / p50 is not small: each request picks its account at random, so one account gets
    more requests than the others, and the clients pile up in its queue (a closed system has its
    backlog at its bottleneck). That spread belongs to the traffic, not to the service."""
    free_at = defaultdict(float)
    served = Counter()
    ready = [(0.0, client) for client in range(clients)]
    heapq.heapify(ready)
    latencies = []
    for _, _, account, *_ in planned:
        issued, client = heapq.heappop(ready)
        times = service[account]
        done = max(issued, free_at[account]) + times[served[account] % len(times)]
        served[account] += 1
        free_at[account] = done
        latencies.append(done - issued)
        heapq.heappush(ready, (done, client))
    return latencies


class Load:
    """One load test run: the set-up, the traffic, and the checks."""

    def __init__(self, options, workdir):
        self.options = options
        self.workdir = Path(workdir)
        self.rng = random.Random(options.seed)
        self.fake = FakeState(self.workdir / "config")
        self.accounts = [account_number(index) for index in range(options.accounts)]
        self.groups = {}
        self.queued = []
        self.queued_lock = threading.Lock()
        self.results = []
        self.results_lock = threading.Lock()
        #: request id -> wall-clock time it was sent (the fake signal-cli records wall-clock times)
        self.issued = {}
        self.received = []
        self.failures = []
        #: the feeder thread's own generator, so the planned traffic does not depend on timing
        self.feeder_rng = random.Random(options.seed + 1)
        self.server = None

    # -- set-up --

    def arrange(self):
        """Accounts, the people they write to, their groups and the messages waiting for them."""
        for number in PEERS:
            self.fake.add_user(number)
        for account in self.accounts:
            self.fake.add_account(account)
            self.groups[account] = [
                self.fake.add_group(account, name=f"Group {n}", members=PEERS[: 1 + n % len(PEERS)])
                for n in range(self.options.groups)
            ]
            self.queue(account, self.options.incoming)
        self.fake.set_delay(self.options.delay)

    def queue(self, account, count, rng=None):
        """Queue ``count`` incoming messages for ``account``, each with a unique marker."""
        with self.queued_lock:
            markers = [f"in-{len(self.queued) + n}-{account}" for n in range(count)]
            self.queued += markers
        sender = (rng or self.rng).choice(PEERS)
        self.fake.queue_messages(account, [message_line(account, sender, marker) for marker in markers])

    def plan(self):
        """The requests to send, in order, made up front (the same for the same seed)."""
        kinds, weights = zip(*MIX, strict=True)
        planned = []
        for index in range(self.options.requests):
            kind = self.rng.choices(kinds, weights)[0]
            account = self.rng.choice(self.accounts)
            planned.append((index, kind, account, *self.request(index, kind, account)))
        return planned

    # -- traffic --

    def request(self, index, kind, account):
        """Build one request: (method, path, body bytes or None, what to check afterwards)."""
        if kind == "send":
            marker = f"out-{index}-{self.rng.getrandbits(48):012x}"
            data = self.rng.randbytes(self.rng.randint(64, 16 * 1024))
            recipients = self.rng.choice(
                [[self.rng.choice(PEERS)], [api_group_id(self.rng.choice(self.groups[account]))], PEERS[:2]]
            )
            body = {
                "number": account,
                "recipients": recipients,
                "message": f"load test {marker}",
                "base64_attachments": [
                    f"data:application/octet-stream;filename={marker}.bin;base64,{base64.b64encode(data).decode()}"
                ],
            }
            expect = {"marker": marker, "sha256": hashlib.sha256(data).hexdigest()}
            return "POST", "/v2/send", json.dumps(body).encode(), expect
        if kind == "groups":
            if self.rng.random() < 0.5:
                return "GET", f"/v1/groups/{account}", None, {}
            group = api_group_id(self.rng.choice(self.groups[account]))
            return "GET", f"/v1/groups/{account}/{group}", None, {}
        limit = self.rng.choice(["", "&max_messages=2", "&max_messages=5"])
        return "GET", f"/v1/receive/{account}?timeout=0{limit}", None, {}

    def send(self, method, path, body, request_id):
        """One request on its own connection; returns (status, headers, body, seconds) or raises."""
        started = time.monotonic()
        self.issued[request_id] = time.time()
        connection = http.client.HTTPConnection(LOOPBACK, self.server.port, timeout=CLIENT_TIMEOUT)
        try:
            headers = {"X-Request-ID": request_id, "Connection": "close"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            return response.status, dict(response.getheaders()), data, time.monotonic() - started
        finally:
            connection.close()

    def drive(self, planned):
        """Send the planned requests from ``concurrency`` clients until done or the time bound."""
        pending = iter(planned)
        lock = threading.Lock()
        deadline = time.monotonic() + self.options.duration
        busy = Counter()

        def client():
            while True:
                with lock:
                    if time.monotonic() > deadline:
                        return
                    item = next(pending, None)
                    busy["now"] += 1
                    busy["peak"] = max(busy["peak"], busy["now"])
                if item is None:
                    with lock:
                        busy["now"] -= 1
                    return
                index, kind, account, method, path, body, expect = item
                request_id = f"load-{self.options.seed}-{index}"
                result = {"index": index, "kind": kind, "account": account, "path": path, "id": request_id, **expect}
                try:
                    status, headers, data, seconds = self.send(method, path, body, request_id)
                    result.update(
                        status=status,
                        seconds=seconds,
                        issued=self.issued[request_id],
                        answered_id=headers.get("X-Request-ID"),
                    )
                    if kind == "receive" and status == 200:
                        result["received"] = [item["envelope"]["dataMessage"]["message"] for item in json.loads(data)]
                    elif status >= 300:
                        result["error"] = data[:300].decode(errors="replace")
                except (OSError, http.client.HTTPException, ValueError) as exc:
                    result.update(status=None, error=f"{type(exc).__name__}: {exc}")
                with self.results_lock:
                    self.results.append(result)
                with lock:
                    busy["now"] -= 1

        stop_feeding = threading.Event()
        feeder = threading.Thread(target=self.feed, args=(stop_feeding,), daemon=True)
        clients = [threading.Thread(target=client, daemon=True) for _ in range(self.options.concurrency)]
        started = time.monotonic()
        feeder.start()
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(self.options.duration + CLIENT_TIMEOUT + 30)
        stop_feeding.set()
        feeder.join()
        self.elapsed = time.monotonic() - started
        self.peak_concurrency = busy["peak"]
        return not any(thread.is_alive() for thread in clients)

    def feed(self, stop):
        """Let new messages arrive for random accounts while the traffic runs."""
        while not stop.wait(0.25):
            self.queue(self.feeder_rng.choice(self.accounts), 1, self.feeder_rng)

    def drain(self):
        """Receive until no account has anything waiting (in signal-cli or in the service's inbox)."""
        for account in self.accounts:
            for _ in range(50):
                status, _, data, _ = self.send("GET", f"/v1/receive/{account}?timeout=0", None, f"drain-{account}")
                if status != 200:
                    self.failures.append(f"draining {account}: {status} {data[:200]!r}")
                    break
                messages = [item["envelope"]["dataMessage"]["message"] for item in json.loads(data)]
                self.received += messages
                if not messages and not self.fake.inbox(account):
                    break

    # -- checks --

    def check(self, name, problems):
        """Record a check's outcome; ``problems`` is a list of sentences (empty: passed)."""
        print(f"  [{'PASS' if not problems else 'FAIL'}] {name}")
        for problem in problems[:10]:
            print(f"         - {problem}")
        if len(problems) > 10:
            print(f"         - ... and {len(problems) - 10} more")
        if problems:
            self.failures.append(name)

    def check_answers(self, access_log):
        """Exactly one answer per request, with its own request id, and only 2xx answers."""
        problems = []
        ids = Counter(re.findall(r"request_id=(\S+)", access_log))
        for result in self.results:
            if result["status"] is None:
                problems.append(f"request {result['index']} ({result['path']}) got no answer: {result['error']}")
                continue
            if result["answered_id"] != result["id"]:
                problems.append(f"request {result['index']} was answered with request id {result['answered_id']}")
            if ids[result["id"]] != 1:
                problems.append(f"request {result['id']} is {ids[result['id']]} times in the access log")
        issued = {result["index"] for result in self.results}
        if len(issued) != len(self.results):
            problems.append("a request was recorded twice")
        self.check("every request got exactly one answer", problems)
        errors = [r for r in self.results if r["status"] is not None and not 200 <= r["status"] < 300]
        self.check(
            "every answer is a 2xx",
            [f"{r['status']} for {r['kind']} {r['path']}: {r.get('error', '')[:160]}" for r in errors],
        )

    def check_processes(self, records):
        """Per account one signal-cli at a time; never more than max_processes at once; none waited."""
        problems = []
        runs = defaultdict(list)
        for record in records:
            if record.get("account"):
                runs[record["account"]].append((record["launched"], record["end"], record["pid"], record["command"]))
        for account, spans in sorted(runs.items()):
            spans.sort()
            for (_, end, pid, command), (next_start, _, next_pid, next_command) in zip(spans, spans[1:], strict=False):
                if next_start < end:
                    problems.append(
                        f"{account}: {next_command} (pid {next_pid}) started {end - next_start:.3f} s before "
                        f"{command} (pid {pid}) ended"
                    )
        waited = [r for r in records if r.get("waited_for_lock")]
        problems += [f"{r['account']}: {r['command']} (pid {r['pid']}) waited for the account lock" for r in waited]
        self.check("one account never ran two signal-cli processes at once", problems)
        events = sorted([(r["launched"], 1) for r in records] + [(r["end"], -1) for r in records])
        running = peak = 0
        for _, change in events:
            running += change
            peak = max(peak, running)
        self.peak_processes = peak
        limit = self.options.max_processes
        self.check(
            f"at most {limit} signal-cli processes at once (SIGNAL_REST_MAX_PROCESSES; peak {peak})",
            [f"{peak} ran at once"] if peak > limit else [],
        )

    def check_sends(self, records):
        """Each accepted send reached signal-cli exactly once, with its attachment; refused ones never."""
        problems = []
        seen = defaultdict(list)
        for record in records:
            if record.get("command") == "send":
                for marker in MARKER.findall(record.get("stdin") or ""):
                    seen[marker].append(record)
        sends = [r for r in self.results if r["kind"] == "send"]
        for result in sends:
            found = seen.pop(result["marker"], [])
            expected = 1 if result["status"] == 201 else 0
            if len(found) != expected:
                problems.append(f"send {result['marker']} ({result['status']}) reached signal-cli {len(found)} times")
                continue
            for record in found:
                digests = [hashlib.sha256(base64.b64decode(item["data"])).hexdigest() for item in record["attachments"]]
                if digests != [result["sha256"]]:
                    problems.append(f"send {result['marker']}: signal-cli read other attachments ({len(digests)})")
        problems += [f"signal-cli sent {marker}, which no request asked for" for marker in seen]
        self.check("every send reached signal-cli exactly once", problems)

    def check_order(self, records):
        """First come, first served per account: no send reached signal-cli before one issued at
        least OVERTAKING_SLACK seconds earlier to the same account."""
        launched = {}
        for record in records:
            if record.get("command") == "send":
                for marker in MARKER.findall(record.get("stdin") or ""):
                    launched[marker] = record["launched"]
        sends = defaultdict(list)
        for result in self.results:
            if result["kind"] == "send" and result["marker"] in launched:
                sends[result["account"]].append((result["issued"], launched[result["marker"]], result["index"]))
        problems = []
        pairs = 0
        for account, items in sorted(sends.items()):
            items.sort()
            for position, (issued, started, index) in enumerate(items):
                for later_issued, later_started, later_index in items[position + 1 :]:
                    if later_issued - issued < OVERTAKING_SLACK:
                        continue
                    pairs += 1
                    if later_started < started:
                        problems.append(
                            f"{account}: send {later_index}, issued {later_issued - issued:.2f} s after send {index}, "
                            f"reached signal-cli {started - later_started:.2f} s before it"
                        )
        self.check(f"no send overtook an earlier one of its account ({pairs} pairs)", problems)

    def check_incoming(self):
        """Every incoming message was handed out exactly once."""
        handed_out = Counter(self.received)
        for result in self.results:
            handed_out.update(result.get("received", []))
        problems = [
            f"{marker} was handed out {handed_out[marker]} times" for marker in self.queued if handed_out[marker] != 1
        ]
        problems += [f"{marker} was handed out but never queued" for marker in handed_out if marker not in self.queued]
        self.check("every incoming message was handed out exactly once", problems)

    def check_leftovers(self, start_events, records):
        """No signal-cli alive, every one that started finished, no temporary file."""
        problems = []
        finished = {record["pid"] for record in records}
        problems += [f"signal-cli pid {e['pid']} never finished" for e in start_events if e["pid"] not in finished]
        marker = str(self.workdir)
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if marker in cmdline and int(entry) != os.getpid():
                    problems.append(f"process {entry} is still running: {cmdline[:160]}")
        problems += [f"temporary file left behind: {name}" for name in self.server.temp_files()]
        self.check("no process and no temporary file left after shutdown", problems)

    # -- the whole run --

    def run(self):
        """Arrange, start, drive, drain, stop, check, report; returns the exit status."""
        options = self.options
        self.arrange()
        settings = {
            "SIGNAL_REST_MAX_PROCESSES": options.max_processes,
            "SIGNAL_CLI_LOCK_TIMEOUT": 300,
            "SIGNAL_CLI_CMD_TIMEOUT": 60,
            "LOG_LEVEL": "WARNING",
        }
        self.server = GunicornService(
            self.workdir / "server",
            write_executable(self.workdir / "bin"),
            self.workdir / "config",
            workers=options.workers,
            threads=options.threads,
            settings=settings,
        )
        planned = self.plan()
        print(
            f"signal_rest load test ({options.profile}): {options.requests} requests from {options.concurrency} "
            f"clients, {options.accounts} accounts, gunicorn {options.workers} workers x {options.threads} threads, "
            f"signal-cli {options.delay:g} s per call, at most {options.duration:g} s"
        )
        self.server.start()
        try:
            finished = self.drive(planned)
            if not finished:
                self.failures.append("clients still waiting after the time bound")
            self.drain()
        finally:
            self.server.stop()
        if self.server.process.returncode != 0:
            self.failures.append(f"gunicorn exited with {self.server.process.returncode}")
        everything = self.fake.log(events=True)
        records = [r for r in everything if "event" not in r]
        starts = [r for r in everything if r.get("event") == "start"]
        self.report(planned, records)
        print("checks:")
        self.check_answers(self.server.log())
        self.check_processes(records)
        self.check_sends(records)
        self.check_order(records)
        self.check_incoming()
        self.check_leftovers(starts, records)
        if self.failures:
            print(f"FAILED: {', '.join(self.failures)} (gunicorn's log: {self.server.log_path})")
            return 1
        print("all checks passed")
        return 0

    def report(self, planned, records):
        """Print the figures of the run."""
        answered = [r for r in self.results if r["status"] is not None]
        latencies = [r["seconds"] for r in answered]
        statuses = Counter(r["status"] for r in self.results)
        errors = {status: count for status, count in statuses.items() if status is None or not 200 <= status < 300}
        print("results:")
        print(f"  requests:     {len(self.results)} issued of {len(planned)} planned, {len(answered)} answered")
        print(f"  lost:         {len(self.results) - len(answered)} (no answer)")
        print(f"  concurrency:  {self.options.concurrency} clients (peak {self.peak_concurrency} in flight)")
        print(f"  duration:     {self.elapsed:.1f} s")
        print(f"  throughput:   {len(answered) / self.elapsed:.1f} requests/s")
        p50, p95, p99 = (percentile(latencies, fraction) * 1000 for fraction in (0.5, 0.95, 0.99))
        print(
            f"  latency:      p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms, "
            f"max {max(latencies, default=0) * 1000:.0f} ms"
        )
        for kind, _ in MIX:
            values = [r["seconds"] for r in answered if r["kind"] == kind]
            print(
                f"    {kind:<8} {len(values):4d} requests, p50 {percentile(values, 0.5) * 1000:.0f} ms, "
                f"p95 {percentile(values, 0.95) * 1000:.0f} ms, p99 {percentile(values, 0.99) * 1000:.0f} ms"
            )
        print(f"  p99 / p50:    {p99 / p50 if p50 else 0:.2f}")
        # each request takes its account's signal-cli runs' own times, in the order they ran
        runs = defaultdict(list)
        for record in sorted(records, key=lambda record: record["launched"]):
            if record.get("account"):
                runs[record["account"]].append(record["end"] - record["launched"])
        service = {account: runs[account] or [0.0] for account in self.accounts}
        issued = {r["index"] for r in answered}
        perfect = perfect_fcfs_latencies(
            [item for item in planned if item[0] in issued], self.options.concurrency, service
        )
        f50, f99 = (percentile(perfect, fraction) * 1000 for fraction in (0.5, 0.99))
        print(
            f"  perfect FCFS: p50 {f50:.0f} ms, p99 {f99:.0f} ms, p99 / p50 {f99 / f50 if f50 else 0:.2f} "
            "(the same traffic and signal-cli run times, one account's requests at a time in the order they "
            "came, nothing else taking any time)"
        )
        print(f"  this run / perfect FCFS: p50 {p50 / f50 if f50 else 0:.2f} x, p99 {p99 / f99 if f99 else 0:.2f} x")
        busiest, most = Counter(r["account"] for r in answered).most_common(1)[0] if answered else ("-", 0)
        print(f"  busiest account: {busiest} with {most} of {len(answered)} requests")
        print(f"  statuses:     {dict(sorted(statuses.items(), key=lambda item: str(item[0])))}")
        print(f"  errors:       {errors or 'none'}")
        print(f"  incoming:     {len(self.queued)} messages queued")


def parse_args(argv):
    """The command line; ``--short`` picks the small profile, other options override it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="a few seconds, for CI")
    for name in PROFILES["full"]:
        kind = float if isinstance(PROFILES["full"][name], float) else int
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None)
    parser.add_argument("--seed", type=int, default=20260101, help="the traffic is the same for the same seed")
    parser.add_argument("--workdir", help="where to put everything (default: a new temporary directory)")
    options = parser.parse_args(argv)
    options.profile = "short" if options.short else "full"
    for name, value in PROFILES[options.profile].items():
        if getattr(options, name) is None:
            setattr(options, name, value)
    return options


def main(argv=None):
    """Run the load test; returns the exit status."""
    options = parse_args(sys.argv[1:] if argv is None else argv)
    own_workdir = options.workdir is None
    workdir = Path(options.workdir or tempfile.mkdtemp(prefix="signal-rest-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    load = Load(options, workdir)
    watchdog = threading.Timer(options.duration + CLIENT_TIMEOUT + 120, _give_up, args=(load,))
    watchdog.daemon = True
    watchdog.start()
    try:
        status = load.run()
    finally:
        watchdog.cancel()
    if own_workdir and status == 0:
        shutil.rmtree(workdir, ignore_errors=True)
    return status


def _give_up(load):
    """The time bound passed with the run still going: stop the service and exit."""
    print("FAILED: the load test did not finish in time", file=sys.stderr, flush=True)
    if load.server is not None:
        load.server.stop(timeout=5)
    os._exit(2)


if __name__ == "__main__":
    sys.exit(main())
