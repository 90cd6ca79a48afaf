#!/usr/bin/env python3
"""Bytes per element of one list of N small elements, in Sluice and in
redis-server: RSS growth of each process (and Redis's used_memory growth)
after RPUSHing N elements "item:<i>" (or integers with --ints).

    python3 scripts/list-memory.py --sluice-port P --redis-port Q [-n 1000000]
"""
import argparse

import redis


def rss(r):
    info = r.info("memory")
    return info.get("used_memory_rss", 0), info.get("used_memory", 0)


def fill(r, n, ints):
    r.delete("biglist")
    pipe = r.pipeline(transaction=False)
    batch = []
    for i in range(n):
        batch.append(str(i) if ints else "item:%d" % i)
        if len(batch) == 1000:
            pipe.rpush("biglist", *batch)
            batch = []
            if i % 100000 == 99999:
                pipe.execute()
    if batch:
        pipe.rpush("biglist", *batch)
    pipe.execute()
    assert r.llen("biglist") == n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice-port", type=int)
    ap.add_argument("--redis-port", type=int)
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("--ints", action="store_true")
    a = ap.parse_args()
    for name, port in (("sluice", a.sluice_port), ("redis", a.redis_port)):
        if not port:
            continue
        r = redis.Redis(port=port)
        r.delete("biglist")
        rss0, used0 = rss(r)
        fill(r, a.n, a.ints)
        rss1, used1 = rss(r)
        print("%-6s rss +%.2f B/elem, used_memory +%.2f B/elem, encoding %s" % (
            name, (rss1 - rss0) / a.n, (used1 - used0) / a.n,
            r.object("encoding", "biglist").decode()))


if __name__ == "__main__":
    main()
