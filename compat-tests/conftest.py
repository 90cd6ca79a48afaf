"""Fixtures that run the same stock-client test against real Redis and Sluice.

Every test that asks for one of the fixtures below is generated once per
server kind ("redis", "sluice"), so a single test body checks that Sluice
behaves like Redis. ``COMPAT_SERVERS`` (comma-separated, default
``redis,sluice``) selects the kinds that run.

Servers
    * ``redis``:  Debian's ``redis-server`` on a free loopback port, no
      persistence, a fresh temp ``--dir``, ``--enable-debug-command yes``.
    * ``sluice``: the binary named by ``SLUICE_BIN`` (default
      ``<repo>/target/debug/sluice-server``) started with ``--port 0``; the port
      comes from its ``Ready to accept connections ... 127.0.0.1:<port>`` line.
    Each kind gets one shared server per session, started lazily on first use
    and stopped at session end. A kind that failed to start is not retried:
    later tests get the same error at once.

Fixtures
    kind        "redis" or "sluice" (parametrized; test ids ``[redis]`` ...).
    protocol    2 or 3; only tests that use ``r`` (or ask for ``protocol``)
                are parametrized over it (ids ``[redis-resp2]`` ...).
    server      ServerHandle of the shared server of ``kind``; ``FLUSHALL``
                runs before each test. If the server dies, the test during
                (or after) which it was found dead errors with its output, and
                the next test gets a new server.
                Tests that change server-wide state (CONFIG SET, ACL, SHUTDOWN,
                DEBUG SLEEP ...) must use ``start_server`` instead.
                Reload check: after each test (in this fixture's teardown, so
                also for tests using ``r`` or ``cli``), the whole keyspace of
                the shared server (all 16 dbs) is read, ``DEBUG RELOAD`` runs,
                and the keyspace is read again; any difference fails the test
                at teardown. Compared per key: TYPE, the value (GET, LRANGE,
                HGETALL, SMEMBERS, ZRANGE WITHSCORES or XRANGE by type) and
                PTTL (it may drop by the time the check took; a key whose TTL
                ran out during the check may vanish). For strings, OBJECT
                ENCODING after the reload must be the one a fresh SET of that
                value gets (Redis re-encodes strings when it loads them, so a
                "raw" string left by APPEND comes back "embstr" or "int").
                Skipped if the server is dead or refuses PING (e.g. NOAUTH).
                Off with ``COMPAT_RELOAD_CHECK=0``.
    r           ``server.client(protocol=protocol)``; also ``r.handle`` is
                ``server``. Closed at teardown.
    cli         ``server.cli``.
    start_server(kind, *extra_args, dir=None) -> ServerHandle
                starts a dedicated server with extra ``--flag value`` args,
                e.g. ``start_server(kind, "--requirepass", "pw")``; stopped at
                test end (in reverse start order). Skips the test if ``kind``
                is not in COMPAT_SERVERS. ``dir`` (a path) makes the server
                use that existing data directory instead of a fresh temp one;
                the directory is then the caller's and is never removed. Use
                it (e.g. with pytest's ``tmp_path``) to start a new server on
                the data an earlier one left behind.

ServerHandle
    .kind, .host, .port
    .dir                    its data directory (``--dir``, also its cwd)
    .client(protocol=2, **kw) -> redis.Redis
        ``decode_responses=False``, 10 s socket timeout and no automatic
        retries (a retry would hide a dropped connection); ``kw`` overrides.
    .cli(*args, input=None, raw=False, timeout=10) -> subprocess.CompletedProcess
        runs ``redis-cli -h host -p port [--raw|--no-raw] args``. ``input``
        (str or bytes) is fed to stdin, else stdin is /dev/null. ``raw`` picks
        redis-cli's --raw vs --no-raw output ("1" vs '"1"', "(integer) 1").
        stdout/stderr are str, decoded as UTF-8 with surrogateescape, so
        ``s.encode("utf-8", "surrogateescape")`` gives back the exact bytes.
    .alive() -> bool, .exit_code() -> int | None
    .output() -> str        the server's last 100 lines of stdout/stderr
    .stop()                 SIGTERM to its process group, SIGKILL after 5 s;
                            removes the temp dir (not a ``dir=`` one).
                            Idempotent.
    .restart() -> self      stops the server with SIGTERM (a clean shutdown;
                            fails the test if it needs SIGKILL or exits non-
                            zero), then starts the same kind with the same
                            args on the same data directory. The port may
                            change: make new clients afterwards.

Markers
    @pytest.mark.sluice_only("reason")
        the test is generated for sluice only (Sluice extensions, or Redis
        features newer than the Debian redis-server 7.0). The reason is
        required.

Names ``kind`` and ``protocol`` are reserved: don't parametrize them yourself.
"""

import collections
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

REPO_ROOT = Path(__file__).resolve().parent.parent
KINDS = ("redis", "sluice")
HOST = "127.0.0.1"
STARTUP_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0

# Sluice announces its real port (it is started with --port 0) on this line.
_READY_TEXT = "Ready to accept connections"
_READY_PORT = re.compile(r"127\.0\.0\.1:(\d+)")
# Log formatters may colour output even into a pipe; colour codes could split
# the address, so they are stripped before matching.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def selected_kinds():
    raw = os.environ.get("COMPAT_SERVERS", ",".join(KINDS))
    kinds = list(dict.fromkeys(k.strip() for k in raw.split(",") if k.strip()))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise pytest.UsageError(
            f"COMPAT_SERVERS={raw!r}: expected a comma-separated subset of {KINDS}"
        )
    return kinds


def pytest_configure(config):
    selected_kinds()  # fail fast on a bad COMPAT_SERVERS
    config.addinivalue_line(
        "markers",
        "sluice_only(reason): run only against sluice (Sluice extensions or "
        "features newer than Redis 7.0)",
    )


def pytest_generate_tests(metafunc):
    if "kind" not in metafunc.fixturenames:
        return
    kinds = selected_kinds()
    marks = ()
    marker = metafunc.definition.get_closest_marker("sluice_only")
    if marker is not None:
        reason = marker.args[0] if marker.args else None
        if not (isinstance(reason, str) and reason):
            raise pytest.UsageError(
                f"{metafunc.definition.nodeid}: sluice_only needs a reason string"
            )
        if "sluice" not in kinds:
            marks = pytest.mark.skip(
                reason=f"sluice_only ({reason}); COMPAT_SERVERS={','.join(kinds)}"
            )
        kinds = ["sluice"]
    if "protocol" in metafunc.fixturenames:
        params = [pytest.param(k, p, id=f"{k}-resp{p}", marks=marks)
                  for k in kinds for p in (2, 3)]
        metafunc.parametrize(("kind", "protocol"), params, indirect=True)
    else:
        params = [pytest.param(k, id=k, marks=marks) for k in kinds]
        metafunc.parametrize("kind", params, indirect=True)


class ServerStartError(Exception):
    """A server did not come up; ServerHandle.start reports it as a test failure."""


class ServerHandle:
    """One running server process; see the module docstring for the API."""

    def __init__(self, kind, extra_args=(), dir=None):
        self.kind = kind
        self.host = HOST
        self.port = None
        self._extra_args = list(extra_args)
        # A caller's directory is the caller's: stop() leaves it in place.
        self._owns_dir = dir is None
        self._dir = tempfile.mkdtemp(prefix=f"compat-{kind}-") if dir is None else str(dir)
        self._argv = None
        self._proc = None
        self._reader = None
        self._lines = collections.deque(maxlen=100)
        self._lines_lock = threading.Lock()
        self._announced_port = None
        self._stopped = False

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        """Start the server; on failure, fail the test with the reason."""
        try:
            if self.kind == "redis":
                self._start_redis()
            else:
                self._start_sluice()
            return self
        except ServerStartError as err:
            reason = str(err)
        except BaseException:
            self.stop()
            raise
        # Outside the except block, so the report shows just the reason.
        self.stop()
        pytest.fail(reason, pytrace=False)

    def _start_redis(self):
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServerStartError(
                "redis-server not found on PATH; install it with "
                "`apt-get install redis-server` (scripts/test-all.sh does this)"
            )
        # The free port is found by binding and releasing it, so another
        # process can grab it before redis binds; retry that rare case.
        for attempt in range(3):
            self.port = _free_port()
            self._spawn(
                [binary, "--port", str(self.port), "--bind", HOST,
                 "--save", "", "--appendonly", "no", "--dir", self._dir,
                 "--enable-debug-command", "yes", *self._extra_args]
            )
            try:
                self._wait_for_ping()
                return
            except ServerStartError:
                if attempt < 2 and "Address already in use" in self.output():
                    self._terminate()
                    continue
                raise

    def _start_sluice(self):
        binary = Path(os.environ.get("SLUICE_BIN", REPO_ROOT / "target/debug/sluice-server"))
        if not binary.is_file():
            raise ServerStartError(
                f"sluice binary is missing: {binary} does not exist. Build it "
                "with `cargo build` (or point SLUICE_BIN at it), or run only "
                "against redis with COMPAT_SERVERS=redis."
            )
        self._spawn(
            [str(binary), "--port", "0", "--bind", HOST, "--dir", self._dir,
             "--enable-debug-command", "yes", *self._extra_args]
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while self._announced_port is None:
            self._fail_if_exited("before announcing its port")
            if time.monotonic() > deadline:
                self._startup_failure(
                    f"did not log '{_READY_TEXT} ... {HOST}:<port>' "
                    f"within {STARTUP_TIMEOUT:.0f} s"
                )
            time.sleep(0.02)
        self.port = self._announced_port

    def _spawn(self, argv):
        self._argv = argv
        with self._lines_lock:
            self._lines.clear()
        self._proc = subprocess.Popen(
            argv,
            cwd=self._dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # panics and fatal errors go to stderr
            # Own process group: stop() signals the server and anything it
            # spawned (e.g. a wrapper script's child holding the pipe), and a
            # terminal's Ctrl-C reaches only pytest, which then tears down.
            start_new_session=True,
        )
        # Drain output for the process's whole life so the pipe never fills
        # up and blocks the server; keep a tail for error messages.
        self._reader = threading.Thread(
            target=self._drain, args=(self._proc.stdout,), daemon=True
        )
        self._reader.start()

    def _drain(self, stream):
        for raw_line in iter(stream.readline, b""):
            line = _ANSI_ESCAPE.sub("", raw_line.decode("utf-8", "replace")).rstrip()
            with self._lines_lock:
                self._lines.append(line)
            if self._announced_port is None and _READY_TEXT in line:
                match = _READY_PORT.search(line)
                if match:
                    self._announced_port = int(match.group(1))

    def _wait_for_ping(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            self._fail_if_exited("before answering PING")
            # No CLIENT SETINFO on connect: only the PING goes out.
            probe = self.client(socket_timeout=1, socket_connect_timeout=1,
                                lib_name=None, lib_version=None)
            try:
                probe.ping()
                return
            except (redis.ResponseError, redis.AuthenticationError):
                # Any reply means it's up, e.g. NOAUTH under --requirepass
                # (redis-py raises that as AuthenticationError, a ConnectionError).
                return
            except redis.ConnectionError:
                pass
            finally:
                probe.close()
            if time.monotonic() > deadline:
                self._startup_failure(f"did not answer PING within {STARTUP_TIMEOUT:.0f} s")
            time.sleep(0.05)

    def _fail_if_exited(self, when):
        code = self._proc.poll()
        if code is not None:
            self._reader.join(timeout=1)  # collect its last words
            self._startup_failure(f"exited with code {code} {when}")

    def _startup_failure(self, what):
        raise ServerStartError(
            f"{self.kind} server {what}.\ncommand: {shlex.join(self._argv)}\n"
            f"output:\n{self.output() or '(none)'}"
        )

    def _terminate(self):
        """Stops the process; True if it went on SIGTERM, False if it needed SIGKILL."""
        if self._proc is None:
            return True
        clean = True
        if self._proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self._proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                clean = False
                self._signal_group(signal.SIGKILL)
                self._proc.wait()
        self._reader.join(timeout=STOP_TIMEOUT)
        # Closing the pipe under a reader still blocked in readline would block
        # too; a reader still running means a stray process holds the pipe.
        if not self._reader.is_alive():
            self._proc.stdout.close()
        return clean

    def _signal_group(self, sig):
        try:
            os.killpg(self._proc.pid, sig)
        except ProcessLookupError:
            pass  # exited meanwhile

    def stop(self):
        if self._stopped:
            return
        self._stopped = True
        self._terminate()
        if self._owns_dir:
            shutil.rmtree(self._dir, ignore_errors=True)

    def restart(self):
        if self._stopped:
            raise RuntimeError(f"{self!r} was stopped; it cannot be restarted")
        clean = self._terminate()
        code, output = self._proc.returncode, self.output()
        if not clean or code != 0:
            self.stop()
            how = "needed SIGKILL" if not clean else f"exited with code {code}"
            pytest.fail(
                f"{self.kind} server {how} when stopped for a restart; "
                f"output:\n{output}",
                pytrace=False,
            )
        self.port = None
        self._announced_port = None
        return self.start()

    @property
    def dir(self):
        return self._dir

    # -- queries -----------------------------------------------------------

    def alive(self):
        return self._proc is not None and self._proc.poll() is None

    def exit_code(self):
        return None if self._proc is None else self._proc.poll()

    def output(self):
        with self._lines_lock:
            return "\n".join(self._lines)

    # -- clients -----------------------------------------------------------

    def client(self, protocol=2, **kw):
        options = {
            "decode_responses": False,
            "socket_timeout": 10,
            "socket_connect_timeout": 5,
            "retry": Retry(NoBackoff(), 0),
            **kw,
        }
        return redis.Redis(host=self.host, port=self.port, protocol=protocol, **options)

    def cli(self, *args, input=None, raw=False, timeout=10):
        binary = shutil.which("redis-cli")
        if binary is None:
            raise RuntimeError(
                "redis-cli not found on PATH; install it with "
                "`apt-get install redis-tools` (scripts/test-all.sh does this)"
            )
        if isinstance(input, str):
            input = input.encode()
        argv = [binary, "-h", self.host, "-p", str(self.port),
                "--raw" if raw else "--no-raw", *map(str, args)]
        done = subprocess.run(
            argv,
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            timeout=timeout,
        )
        done.stdout = done.stdout.decode("utf-8", "surrogateescape")
        done.stderr = done.stderr.decode("utf-8", "surrogateescape")
        return done

    def __repr__(self):
        return f"<ServerHandle {self.kind} {self.host}:{self.port}>"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class _SharedServers:
    """The session's shared server per kind, started on first use."""

    def __init__(self):
        self._handles = {}
        self._failures = {}

    def get(self, kind):
        if kind in self._failures:
            pytest.fail(
                f"{self._failures[kind]}\n(first failed earlier in this session; "
                "not retried)",
                pytrace=False,
            )
        if kind not in self._handles:
            try:
                self._handles[kind] = ServerHandle(kind).start()
            except pytest.fail.Exception as err:
                self._failures[kind] = err.msg
                raise
        return self._handles[kind]

    def discard(self, kind):
        handle = self._handles.pop(kind, None)
        if handle is not None:
            handle.stop()

    def stop_all(self):
        for kind in list(self._handles):
            self.discard(kind)


@pytest.fixture(scope="session")
def _shared_servers():
    servers = _SharedServers()
    yield servers
    servers.stop_all()


@pytest.fixture
def kind(request):
    return request.param


@pytest.fixture
def protocol(request):
    return request.param


def _fail_if_died(shared_servers, handle, when):
    """Fail the current test if the shared server is gone, and drop it so the
    next test gets a new one."""
    if handle.alive():
        return
    code, output = handle.exit_code(), handle.output()
    shared_servers.discard(handle.kind)
    pytest.fail(
        f"shared {handle.kind} server exited with code {code} {when}; "
        f"output:\n{output}",
        pytrace=False,
    )


@pytest.fixture
def server(kind, _shared_servers):
    handle = _shared_servers.get(kind)
    # A crash can surface only after the previous test's teardown check.
    _fail_if_died(_shared_servers, handle, "after the previous test")
    admin = handle.client()
    try:
        admin.flushall()
    finally:
        admin.close()
    yield handle
    _fail_if_died(_shared_servers, handle, "during this test")
    if _reload_check_enabled():
        _check_reload_keeps_keyspace(handle)


# ---------------------------------------------------------------- reload check

# The shared servers run with the default number of databases.
SHARED_DATABASES = 16
# Besides the time the check itself took, a PTTL may drop by this much.
PTTL_SLACK_MS = 5
# Redis stores strings of up to this many bytes as "embstr".
EMBSTR_MAX_LEN = 44
_I64_MIN, _I64_MAX = -(2 ** 63), 2 ** 63 - 1
_CANONICAL_INT = re.compile(rb"0|-?[1-9][0-9]*")

# How to read a value back, by TYPE: command, then arguments after the key.
_VALUE_READERS = {
    b"string": ("GET", ()),
    b"list": ("LRANGE", (0, -1)),
    b"hash": ("HGETALL", ()),
    b"set": ("SMEMBERS", ()),
    b"zset": ("ZRANGE", (0, -1, "WITHSCORES")),
    b"stream": ("XRANGE", ("-", "+")),
}


def _reload_check_enabled():
    return os.environ.get("COMPAT_RELOAD_CHECK", "1").strip() != "0"


def fresh_string_encoding(value):
    """The OBJECT ENCODING a string gets when SET (or loaded from disk) as a
    whole: "int" for a canonical 64-bit integer of at most 20 bytes, else
    "embstr" up to 44 bytes, else "raw"."""
    if len(value) <= 20 and _CANONICAL_INT.fullmatch(value):
        if _I64_MIN <= int(value) <= _I64_MAX:
            return b"int"
    return b"embstr" if len(value) <= EMBSTR_MAX_LEN else b"raw"


def _dump_keyspace(client):
    """{(db, key): (type, value, encoding)} and {(db, key): pttl} for every
    key in every database. A key that expires while it is being read is left
    out. Leaves the connection on some database other than the one it had."""
    pipe = client.pipeline(transaction=False)
    for db in range(SHARED_DATABASES):
        pipe.execute_command("SELECT", db)
        pipe.execute_command("DBSIZE")
    sizes = pipe.execute()[1::2]
    dbs = [db for db, size in enumerate(sizes) if size]
    if not dbs:
        return {}, {}

    pipe = client.pipeline(transaction=False)
    for db in dbs:
        pipe.execute_command("SELECT", db)
        pipe.execute_command("KEYS", "*")
    keys = [(db, key) for db, found in zip(dbs, pipe.execute()[1::2]) for key in found]

    def per_key(commands_for):
        """Runs commands_for(key) for every key, SELECTing as needed."""
        pipe = client.pipeline(transaction=False)
        shape = []
        current = None
        for db, key in keys:
            if db != current:
                pipe.execute_command("SELECT", db)
                shape.append(None)
                current = db
            commands = commands_for(db, key)
            for command in commands:
                pipe.execute_command(*command)
            shape.append(len(commands))
        replies = iter(pipe.execute())
        out = []
        for count in shape:
            if count is None:
                next(replies)  # SELECT
            else:
                out.append([next(replies) for _ in range(count)])
        return out

    types = [t for (t,) in per_key(lambda db, key: [("TYPE", key)])]
    type_of = dict(zip(keys, types))

    def reads(db, key):
        kind = type_of[(db, key)]
        commands = [("PTTL", key)]
        if kind in _VALUE_READERS:
            name, rest = _VALUE_READERS[kind]
            commands.append((name, key, *rest))
        if kind == b"string":
            commands.append(("OBJECT", "ENCODING", key))
        return commands

    values, ttls = {}, {}
    for (db, key), replies in zip(keys, per_key(reads)):
        kind, pttl = type_of[(db, key)], replies[0]
        if kind == b"none" or pttl == -2:
            continue  # expired meanwhile
        value = replies[1] if len(replies) > 1 else None
        if kind == b"set":
            value = sorted(value)
        encoding = replies[2] if kind == b"string" else None
        values[(db, key)] = (kind, value, encoding)
        ttls[(db, key)] = pttl
    return values, ttls


def _reload_differences(before, ttls_before, after, ttls_after, elapsed_ms):
    problems = []
    tolerance = elapsed_ms + PTTL_SLACK_MS
    for key in sorted(set(before) | set(after)):
        where = f"db {key[0]} key {key[1]!r}"
        if key not in after:
            pttl = ttls_before[key]
            if not 0 <= pttl <= tolerance:
                problems.append(f"{where}: gone after the reload (PTTL before: {pttl}, "
                                f"check took {elapsed_ms} ms): {before[key]!r}")
            continue
        if key not in before:
            problems.append(f"{where}: appeared with the reload: {after[key]!r}, "
                            f"PTTL {ttls_after[key]}")
            continue
        (kind, value, encoding), (kind2, value2, encoding2) = before[key], after[key]
        if (kind, value) != (kind2, value2):
            problems.append(f"{where}: was {kind.decode()} {value!r}, "
                            f"reloaded as {kind2.decode()} {value2!r}")
        elif kind == b"string" and encoding2 != fresh_string_encoding(value):
            problems.append(f"{where}: OBJECT ENCODING {encoding!r} before and {encoding2!r} "
                            f"after the reload; a reloaded {len(value)}-byte value "
                            f"{value[:60]!r} should be {fresh_string_encoding(value)!r}")
        p1, p2 = ttls_before[key], ttls_after[key]
        if (p1 < 0 or p2 < 0) and p1 != p2:
            problems.append(f"{where}: PTTL {p1} before the reload, {p2} after")
        elif p1 >= 0 and not p1 - tolerance <= p2 <= p1:
            problems.append(f"{where}: PTTL {p1} before the reload, {p2} after "
                            f"(check took {elapsed_ms} ms)")
    return problems


def _check_reload_keeps_keyspace(handle):
    """Fails the test if DEBUG RELOAD changes the shared server's keyspace."""
    if not handle.alive():
        return
    client = handle.client(single_connection_client=True, lib_name=None, lib_version=None)
    try:
        try:
            client.ping()
        except (redis.ConnectionError, redis.ResponseError):
            return  # unusable (e.g. a password was set): nothing to check
        started = time.monotonic()
        before, ttls_before = _dump_keyspace(client)
        try:
            client.execute_command("DEBUG", "RELOAD")
        except redis.RedisError as err:
            pytest.fail(f"reload check: DEBUG RELOAD on the shared {handle.kind} server "
                        f"failed: {err!r}\nserver output:\n{handle.output()}",
                        pytrace=False)
        after, ttls_after = _dump_keyspace(client)
        elapsed_ms = int((time.monotonic() - started) * 1000) + 1
    finally:
        client.close()
    problems = _reload_differences(before, ttls_before, after, ttls_after, elapsed_ms)
    if problems:
        shown = problems[:20]
        if len(problems) > len(shown):
            shown.append(f"... and {len(problems) - len(shown)} more")
        pytest.fail(
            f"reload check: DEBUG RELOAD changed the keyspace of the shared "
            f"{handle.kind} server this test left behind (COMPAT_RELOAD_CHECK=0 "
            "turns this check off):\n  " + "\n  ".join(shown),
            pytrace=False,
        )


@pytest.fixture
def r(server, protocol):
    client = server.client(protocol=protocol)
    client.handle = server
    yield client
    client.close()


@pytest.fixture
def cli(server):
    return server.cli


@pytest.fixture
def start_server():
    started = []

    def start(kind, *extra_args, dir=None):
        if kind not in KINDS:
            raise ValueError(f"unknown server kind {kind!r}; expected one of {KINDS}")
        if kind not in selected_kinds():
            pytest.skip(f"{kind} is not in COMPAT_SERVERS")
        if dir is not None and not Path(dir).is_dir():
            raise ValueError(f"dir={str(dir)!r} is not an existing directory")
        handle = ServerHandle(kind, [str(a) for a in extra_args], dir=dir)
        started.append(handle)
        return handle.start()

    yield start
    # Newest first: a later server may run on an earlier one's directory.
    for handle in reversed(started):
        handle.stop()
