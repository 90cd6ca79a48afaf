"""End-to-end example of the consumer-group worker pattern, against Redis and Sluice.

A producer adds order messages; three workers in one consumer group read,
process and acknowledge them. One worker dies after reading a batch, having
processed only part of it and acknowledged nothing. The survivors notice its
pending entries with XPENDING and take them over with XAUTOCLAIM. Processing
is made idempotent with ``SET processed:<id> 1 NX EX 3600``, so every order is
processed exactly once even though some are delivered twice. Every wait is
bounded."""

import collections
import threading
import time

from rawcmd import raw

STREAM = "orders"
GROUP = "workers"
TOTAL = 300
PREFILL = 30
BATCH = 10
MIN_IDLE_MS = 100
DEADLINE = 30.0  # seconds for the whole run; normally well under 2


class Run:
    def __init__(self, handle, protocol):
        self.handle = handle
        self.protocol = protocol
        self.lock = threading.Lock()
        self.processed = []           # (message id, worker) per real processing
        self.claimed = []             # (message id, worker) taken over with XAUTOCLAIM
        self.seen_pending_of = set()  # consumers XPENDING showed with pending entries
        self.stop = threading.Event()
        self.first_batch = threading.Event()
        self.errors = []
        self.deadline = time.monotonic() + DEADLINE

    def client(self):
        return self.handle.client(protocol=self.protocol, decode_responses=True)

    def process(self, con, worker, msg_id, fields, ack=True):
        assert fields["order"].startswith("order-"), fields
        # The side effect happens at most once per message.
        if con.set(f"processed:{msg_id}", 1, nx=True, ex=3600):
            with self.lock:
                self.processed.append((msg_id, worker))
        if ack:
            con.xack(STREAM, GROUP, msg_id)

    def guarded(self, body, *args):
        try:
            body(*args)
        except Exception as exc:  # reported by the test
            self.errors.append(repr(exc))
            self.stop.set()

    def read(self, con, worker):
        reply = con.xreadgroup(GROUP, worker, {STREAM: ">"}, count=BATCH, block=50)
        if not reply:
            return []
        entries = reply[STREAM][0] if isinstance(reply, dict) else reply[0][1]
        return entries

    def doomed_worker(self, worker):
        """Processes its first batch; then reads one more, processes half of it
        without acknowledging anything, and dies."""
        con = self.client()
        try:
            batches = 0
            while not self.stop.is_set() and time.monotonic() < self.deadline:
                entries = self.read(con, worker)
                if not entries:
                    continue
                batches += 1
                if batches == 1:
                    for msg_id, fields in entries:
                        self.process(con, worker, msg_id, fields)
                    self.first_batch.set()
                    continue
                for msg_id, fields in entries[: len(entries) // 2]:
                    self.process(con, worker, msg_id, fields, ack=False)
                return  # "killed": the rest of the batch is never processed or acked
        finally:
            con.close()

    def worker(self, worker):
        con = self.client()
        try:
            while not self.stop.is_set() and time.monotonic() < self.deadline:
                for msg_id, fields in self.read(con, worker):
                    self.process(con, worker, msg_id, fields)
                self.take_over(con, worker)
        finally:
            con.close()

    def take_over(self, con, worker):
        summary = con.xpending(STREAM, GROUP)
        others = [c["name"] for c in summary["consumers"] if c["name"] != worker]
        if not others:
            return
        with self.lock:
            self.seen_pending_of.update(others)
        cursor = "0-0"
        while True:
            next_cursor, entries, deleted = raw(
                con, "XAUTOCLAIM", STREAM, GROUP, worker, MIN_IDLE_MS, cursor, "COUNT", BATCH)
            assert deleted == [], deleted
            for msg_id, fields in entries:
                fields = dict(zip(fields[::2], fields[1::2]))
                with self.lock:
                    self.claimed.append((msg_id, worker))
                self.process(con, worker, msg_id, fields)
            if next_cursor == "0-0":
                return
            cursor = next_cursor

    def produce(self, start):
        con = self.client()
        try:
            for n in range(start, TOTAL + 1):
                con.xadd(STREAM, {"order": f"order-{n}", "amount": str(n * 3)})
                if n % 10 == 0:
                    time.sleep(0.005)
        finally:
            con.close()


def test_workers_take_over_a_dead_workers_messages(r, protocol):
    work_and_take_over(r, protocol)


def test_workers_with_two_io_threads(kind, start_server, protocol):
    """The same run on a server with ``io-threads 2``: Sluice then serves
    clients from two threads, which take turns on the keyspace."""
    handle = start_server(kind, "--io-threads", "2")
    with handle.client(protocol=protocol) as r:
        assert r.config_get("io-threads") == {"io-threads": "2"}
        r.handle = handle
        work_and_take_over(r, protocol)


def work_and_take_over(r, protocol):
    run = Run(r.handle, protocol)
    r.xgroup_create(STREAM, GROUP, "0", mkstream=True)
    con = run.client()
    for n in range(1, PREFILL + 1):
        con.xadd(STREAM, {"order": f"order-{n}", "amount": str(n * 3)})
    con.close()

    doomed = threading.Thread(target=run.guarded, args=(run.doomed_worker, "w0"), daemon=True)
    doomed.start()
    assert run.first_batch.wait(5), run.errors
    threads = [threading.Thread(target=run.guarded, args=(run.worker, name), daemon=True)
               for name in ("w1", "w2")]
    producer = threading.Thread(target=run.guarded, args=(run.produce, PREFILL + 1), daemon=True)
    for t in (*threads, producer):
        t.start()

    producer.join(DEADLINE)
    doomed.join(DEADLINE)
    assert not producer.is_alive() and not doomed.is_alive()

    def settled():
        g = r.xinfo_groups(STREAM)[0]
        return g["pending"] == 0 and g["entries-read"] == TOTAL and len(run.processed) == TOTAL

    while not settled() and not run.stop.is_set() and time.monotonic() < run.deadline:
        time.sleep(0.02)
    run.stop.set()
    for t in threads:
        t.join(5)
    assert not any(t.is_alive() for t in threads)
    assert run.errors == []

    ids = [i.decode() for i, _ in r.xrange(STREAM, "-", "+")]
    assert len(ids) == TOTAL
    # Exactly once: every message processed, none twice.
    counts = collections.Counter(msg_id for msg_id, _ in run.processed)
    assert sorted(counts) == sorted(ids)
    assert set(counts.values()) == {1}
    assert r.exists(*[f"processed:{i}" for i in ids]) == TOTAL
    assert 0 < r.ttl(f"processed:{ids[-1]}") <= 3600

    # The dead worker's unacknowledged entries were seen and taken over.
    assert "w0" in run.seen_pending_of
    assert len(run.claimed) >= BATCH // 2
    assert {worker for _, worker in run.claimed} <= {"w1", "w2"}
    # Some taken-over entries had been processed by w0 before it died: the
    # SET NX guard is what kept them from being processed twice.
    by_w0 = {msg_id for msg_id, worker in run.processed if worker == "w0"}
    assert by_w0 & {msg_id for msg_id, _ in run.claimed}

    # Nothing left pending; the group has read everything.
    assert r.xpending(STREAM, GROUP)["pending"] == 0
    assert raw(r, "XPENDING", STREAM, GROUP, "-", "+", "1000") == []
    group = r.xinfo_groups(STREAM)[0]
    assert (group["pending"], group["lag"], group["entries-read"]) == (0, 0, TOTAL)
    assert group["last-delivered-id"].decode() == ids[-1]
    consumers = {c["name"]: c["pending"] for c in r.xinfo_consumers(STREAM, GROUP)}
    assert consumers == {b"w0": 0, b"w1": 0, b"w2": 0}
    # Cleanup of the dead consumer loses nothing now.
    assert r.xgroup_delconsumer(STREAM, GROUP, "w0") == 0


def test_xautoclaim_respects_min_idle_time(r, protocol):
    """The takeover step alone: a fresh delivery is not claimable until it has
    been idle for min-idle-time."""
    r.xgroup_create(STREAM, GROUP, "0", mkstream=True)
    for n in range(3):
        r.xadd(STREAM, {"order": f"order-{n}"}, id=f"{n + 1}-0")
    r.xreadgroup(GROUP, "dead", {STREAM: ">"})
    assert raw(r, "XAUTOCLAIM", STREAM, GROUP, "alive", MIN_IDLE_MS, "0-0") == [b"0-0", [], []]
    deadline = time.monotonic() + 3
    got = None
    while time.monotonic() < deadline:
        got = raw(r, "XAUTOCLAIM", STREAM, GROUP, "alive", MIN_IDLE_MS, "0-0", "JUSTID")
        if got[1]:
            break
        time.sleep(0.02)
    assert got == [b"0-0", [b"1-0", b"2-0", b"3-0"], []]
    summary = raw(r, "XPENDING", STREAM, GROUP)
    assert summary == [3, b"1-0", b"3-0", [[b"alive", b"3"]]]
    assert raw(r, "XAUTOCLAIM", STREAM, GROUP, "other", 3600000, "0-0") == [b"0-0", [], []]
