"""Helpers shared by the stream consumer-group compat tests (no tests here).

Replies are read with rawcmd.raw(), so maps stay maps (RESP3: dict) or flat
arrays (RESP2: list) as the server sent them."""

import socket
import time

from rawcmd import raw


def b(value):
    return value if isinstance(value, bytes) else str(value).encode()


def as_map(reply, protocol):
    """A map reply as a dict with str keys, after checking its wire shape:
    a RESP3 map, or a flat RESP2 array of name/value pairs."""
    if protocol == 3:
        assert isinstance(reply, dict), reply
        items = reply.items()
    else:
        assert isinstance(reply, list) and len(reply) % 2 == 0, reply
        items = zip(reply[::2], reply[1::2])
    return {k.decode(): v for k, v in items}


def streams(reply, protocol):
    """An XREAD/XREADGROUP reply as a list of (key, entries); RESP3 sends a
    map of key -> entries, RESP2 an array of [key, entries] pairs."""
    if protocol == 3:
        assert isinstance(reply, dict), reply
        return list(reply.items())
    assert isinstance(reply, list), reply
    for pair in reply:
        assert isinstance(pair, list) and len(pair) == 2, pair
    return [tuple(pair) for pair in reply]


def entry(id_, *fields):
    return [b(id_), [b(f) for f in fields]]


def xinfo_groups(r, protocol, key):
    return {g["name"]: g for g in (as_map(x, protocol) for x in raw(r, "XINFO", "GROUPS", key))}


def xinfo_consumers(r, protocol, key, group):
    return {c["name"]: c for c in (as_map(x, protocol) for x in raw(r, "XINFO", "CONSUMERS", key, group))}


def errorstat(r, name):
    """The count of errorstat_<name> in INFO errorstats (0 if absent)."""
    info = r.info("errorstats")
    stat = info.get(f"errorstat_{name}")
    return 0 if stat is None else stat["count"]


def wait_until(predicate, timeout=3.0, step=0.01):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(step)


def encode_command(*args):
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        arg = b(arg)
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


class RawConn:
    """A plain socket speaking RESP; reads whole replies as raw bytes."""

    def __init__(self, handle, protocol=2, timeout=5):
        self.sock = socket.create_connection((handle.host, handle.port), timeout=timeout)
        self.buf = b""
        if protocol == 3:
            self.send("HELLO", 3)
            self.read_reply()

    def send(self, *args):
        self.sock.sendall(encode_command(*args))

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def _exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_reply(self):
        """One complete reply, as the raw bytes on the wire."""
        line = self._line()
        kind, rest = line[:1], line[1:-2]
        if kind in (b"$", b"=", b"!"):
            n = int(rest)
            return line if n < 0 else line + self._exact(n + 2)
        if kind in (b"*", b"~", b">"):
            n = int(rest)
            return line + b"".join(self.read_reply() for _ in range(max(n, 0)))
        if kind in (b"%", b"|"):
            n = int(rest)
            return line + b"".join(self.read_reply() for _ in range(2 * n))
        return line

    def close(self):
        # shutdown() also wakes a thread blocked in recv() on this socket.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
