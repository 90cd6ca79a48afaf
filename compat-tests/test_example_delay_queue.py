"""End-to-end example of the delay-queue pattern, against Redis and Sluice.

Producers schedule jobs with ``ZADD delayed <due-ms> <job>``. A mover takes
the jobs that are due with ZRANGEBYSCORE under WATCH and, in MULTI/EXEC,
removes them with ZREM and appends them to a stream with XADD; a lost WATCH
race just retries. A consumer group works the stream with XREADGROUP and
XACK, deduplicating with ``SET done:<job> 1 NX EX 3600``.

Halfway through, the server restarts (Redis with ``--appendonly yes``). At
that moment some jobs are still scheduled in the sorted set, some are in the
stream unread, and one consumer holds a batch it read but never
acknowledged; after the restart it reads its pending entries (ID 0) first,
as real workers do. At the end every job was delivered exactly once and
never before its due time. Every wait is bounded."""

import random
import threading
import time

import redis

DELAYED = "delayed"
STREAM = "jobs"
GROUP = "workers"
PER_PHASE = 120
PRODUCERS = 2
MAX_DELAY_MS = 600
DEADLINE = 30.0  # seconds per phase; normally about one


def now_ms():
    return int(time.time() * 1000)


class Run:
    def __init__(self, handle, protocol):
        self.handle = handle
        self.protocol = protocol
        self.lock = threading.Lock()
        self.scheduled = {}   # job -> due ms
        self.handled = []     # (job, delivered at ms), every delivery worked
        self.done = 0         # jobs processed (first delivery, by SET NX)
        self.held = []        # jobs read and never acknowledged before the restart
        self.errors = []
        self.stop = threading.Event()

    def client(self):
        return self.handle.client(protocol=self.protocol, decode_responses=True)

    def guarded(self, body, *args):
        try:
            body(*args)
        except Exception as exc:  # reported by the test
            self.errors.append(repr(exc))
            self.stop.set()

    def produce(self, phase, producer):
        con = self.client()
        rng = random.Random(phase * 10 + producer)
        try:
            for i in range(PER_PHASE // PRODUCERS):
                job = f"job-{phase}-{producer}-{i}"
                due = now_ms() + rng.randrange(MAX_DELAY_MS)
                with self.lock:
                    self.scheduled[job] = due
                assert con.zadd(DELAYED, {job: due}) == 1
                if i % 10 == 0:
                    time.sleep(0.01)
        finally:
            con.close()

    def move(self, until, deadline):
        """Moves due jobs to the stream until the event `until` is set."""
        con = self.client()
        try:
            while not until.is_set() and not self.stop.is_set() and time.monotonic() < deadline:
                with con.pipeline(transaction=True) as pipe:
                    pipe.watch(DELAYED)
                    due = pipe.zrangebyscore(
                        DELAYED, 0, now_ms(), start=0, num=20, withscores=True)
                    if not due:
                        pipe.unwatch()
                        time.sleep(0.01)
                        continue
                    pipe.multi()
                    pipe.zrem(DELAYED, *[job for job, _ in due])
                    for job, score in due:
                        pipe.xadd(STREAM, {"job": job, "due": int(score)})
                    try:
                        replies = pipe.execute()
                    except redis.WatchError:
                        continue  # a producer added meanwhile: retry
                    assert replies[0] == len(due), replies
        finally:
            con.close()

    def work(self, con, entries):
        for msg_id, fields in entries:
            job, due = fields["job"], int(fields["due"])
            at = now_ms()
            assert at >= due, f"{job} delivered {due - at} ms early"
            with self.lock:
                self.handled.append((job, at))
            if con.set(f"done:{job}", 1, nx=True, ex=3600):
                with self.lock:
                    self.done += 1
            con.xack(STREAM, GROUP, msg_id)

    def consume(self, consumer, deadline, expected, hold=None):
        """Works the stream until `expected` jobs are done. With `hold`
        (events (start, held)) it works until `start` is set instead, then
        reads one more non-empty batch, keeps it unprocessed and unacknowledged (as if the worker
        died), sets `held` and returns."""
        con = self.client()
        try:
            # What this consumer read before a restart and never acknowledged.
            self.work(con, self.read(con, consumer, "0"))
            while not self.stop.is_set() and time.monotonic() < deadline:
                if hold is not None and hold[0].is_set():
                    batch = self.read(con, consumer, ">")
                    if batch:
                        with self.lock:
                            self.held = [fields["job"] for _, fields in batch]
                        hold[1].set()
                        return
                    continue
                with self.lock:
                    if hold is None and self.done >= expected:
                        return
                self.work(con, self.read(con, consumer, ">"))
        finally:
            con.close()

    def read(self, con, consumer, start):
        reply = con.xreadgroup(GROUP, consumer, {STREAM: start}, count=10, block=50)
        if not reply:
            return []
        return reply[STREAM][0] if isinstance(reply, dict) else reply[0][1]

    def run_threads(self, targets):
        threads = [threading.Thread(target=self.guarded, args=(t, *a)) for t, a in targets]
        for t in threads:
            t.start()
        for t in threads:
            t.join(DEADLINE + 5)
        assert not any(t.is_alive() for t in threads), "a thread did not finish"
        assert not self.errors, self.errors


def test_delay_queue_delivers_each_job_once_not_early_across_a_restart(
        kind, protocol, start_server):
    handle = start_server(kind, "--appendonly", "yes")
    run = Run(handle, protocol)
    con = run.client()
    con.xgroup_create(STREAM, GROUP, "$", mkstream=True)
    con.close()

    # Phase 1: until half the phase's jobs are done; then c2 takes one more
    # batch and holds it, and everything stops with jobs still scheduled.
    deadline = time.monotonic() + DEADLINE
    half, held = threading.Event(), threading.Event()

    def c1():
        run.consume("c1", deadline, PER_PHASE // 2)
        half.set()

    run.run_threads([
        *[(run.produce, (1, p)) for p in range(PRODUCERS)],
        (run.move, (held, deadline)),
        (c1, ()),
        (run.consume, ("c2", deadline, PER_PHASE // 2, (half, held))),
    ])
    assert run.held, "c2 held no batch at the restart"
    con = run.client()
    scheduled = con.zrange(DELAYED, 0, -1, withscores=True)
    pending = con.xpending(STREAM, GROUP)["pending"]
    stream = con.xrange(STREAM)
    con.close()
    assert pending == len(run.held)

    handle.restart()

    con = run.client()
    assert con.zrange(DELAYED, 0, -1, withscores=True) == scheduled, "the schedule survives"
    assert con.xpending(STREAM, GROUP)["pending"] == pending, "the pending entries survive"
    assert con.xrange(STREAM) == stream, "the stream survives"
    con.close()

    # Phase 2: more jobs; everything is drained, c2's held batch first.
    deadline = time.monotonic() + DEADLINE
    total = 2 * PER_PHASE
    all_done = threading.Event()

    def consumer(name):
        run.consume(name, deadline, total)
        all_done.set()

    run.run_threads([
        *[(run.produce, (2, p)) for p in range(PRODUCERS)],
        (run.move, (all_done, deadline)),
        (consumer, ("c1",)),
        (consumer, ("c2",)),
    ])

    assert run.done == total
    jobs = [job for job, _ in run.handled]
    assert sorted(jobs) == sorted(run.scheduled), "every job delivered exactly once"
    for job, at in run.handled:
        assert at >= run.scheduled[job], job
    con = run.client()
    moved = [fields["job"] for _, fields in con.xrange(STREAM)]
    assert sorted(moved) == sorted(run.scheduled), "the mover moved every job once"
    assert con.zcard(DELAYED) == 0
    assert con.xpending(STREAM, GROUP)["pending"] == 0
    con.close()
