#!/usr/bin/env python3
"""Open-loop HTTP load for bench/balance: Poisson arrivals at RATE req/s for DURATION seconds,
one connection per request (so arrivals never wait for a free client connection), through
the router to dynos that report their service time in X-Service-Us. With --service-ms MEAN
each request asks for its own service time (?service_us=), drawn from Pareto(--shape) with
that mean from the same seeded generator as the arrivals: two runs with the same seed offer
the same work at the same moments, so policies are compared on identical workloads.
Prints one JSON object:
requests, errors, mean/p50/p99 of time in system and of queueing time (time in system minus
the dyno's own service time), mean service time."""
import argparse
import asyncio
import json
import random
import statistics
import time


async def one(port, host, path, lat, queue, svc, errors):
    t0 = time.monotonic()
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        await w.drain()
        head = await r.readuntil(b"\r\n\r\n")
        hdrs = {}
        for line in head.decode("latin-1").split("\r\n")[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        status = int(head.split(b" ", 2)[1])
        await r.readexactly(int(hdrs.get("content-length", "0")))
        w.close()
        t = time.monotonic() - t0
        if status != 200 or "x-service-us" not in hdrs:
            errors.append(status)
            return
        s = int(hdrs["x-service-us"]) / 1e6
        lat.append(t)
        svc.append(s)
        queue.append(max(t - s, 0.0))
    except (OSError, asyncio.IncompleteReadError, ValueError) as e:
        errors.append(type(e).__name__)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--duration", type=float, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--service-ms", type=float)
    ap.add_argument("--shape", type=float, default=1.5)
    ap.add_argument("--cap", type=float, default=100.0, help="service cap, in means")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    srv = random.Random(a.seed * 7919 + 1)

    def path():
        if not a.service_ms:
            return "/"
        xm = a.service_ms * (a.shape - 1) / a.shape
        ms = min(xm / (1.0 - srv.random()) ** (1 / a.shape), a.service_ms * a.cap)
        return f"/?service_us={int(ms * 1000)}"
    lat, queue, svc, errors = [], [], [], []
    tasks = []
    start = time.monotonic()
    t = 0.0
    while t < a.duration:
        t += rnd.expovariate(a.rate)
        delay = start + t - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(a.port, a.host, path(), lat, queue, svc, errors)))
    await asyncio.gather(*tasks)

    def pct(v, p):
        v = sorted(v)
        return v[min(len(v) - 1, int(p * len(v)))] if v else 0.0
    print(json.dumps({
        "requests": len(lat), "errors": len(errors), "error_kinds": sorted(set(map(str, errors))),
        "mean_ms": statistics.mean(lat) * 1e3 if lat else 0,
        "p50_ms": pct(lat, 0.5) * 1e3, "p99_ms": pct(lat, 0.99) * 1e3,
        "mean_queue_ms": statistics.mean(queue) * 1e3 if queue else 0,
        "p99_queue_ms": pct(queue, 0.99) * 1e3,
        "mean_service_ms": statistics.mean(svc) * 1e3 if svc else 0,
    }))


if __name__ == "__main__":
    asyncio.run(main())
