#!/usr/bin/env python3
"""A test dyno for the router tests: an HTTP/1.1 server (keep-alive, pipelining) on loopback
that records every byte it receives, and misbehaves on request, by path:

  /                 200 "hello from NAME" (after ?service_us=N microseconds, if given)
  /echo             200 JSON of method, target, version, headers, body and connection number
  /chunked          200 with a chunked body ("alpha", "beta")
  /close            closes without a response (H13)
  /sleep?ms=N       answers after N ms (H12 with a short request timeout)
  /stall            sends the head and part of the body, then stalls (H15)
  /big?n=N          N bytes of body
  /status?code=N    an empty response with that status
  /ws               websocket handshake, then echo every frame back (text/binary)
  /conn             200 with the number of this TCP connection (keep-alive reuse)
  /closeafter       200 "bye" (keep-alive by its headers), then closes the connection
  /bighead?n=N      a response head with an N-byte field value
  /bad              a malformed response (two Content-Length fields: H17)
  /http10           an HTTP/1.0 response without Content-Length, closed after

Usage: router-backend.py --port P [--name NAME] [--record FILE] [--serial] [--service-ms DIST]
--serial handles one request at a time across all connections (a single-threaded dyno);
--service-ms "pareto:MEAN" or "const:MS" adds a service time to "/" (for bench/balance).
"""
import argparse
import asyncio
import base64
import hashlib
import json
import random
import sys

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Backend:
    def __init__(self, args):
        self.args = args
        self.record = open(args.record, "ab", buffering=0) if args.record else None
        self.conns = 0
        self.lock = asyncio.Lock()
        self.service = None
        if args.service_ms:
            kind, _, val = args.service_ms.partition(":")
            self.service = (kind, float(val))

    def service_time(self):
        kind, mean = self.service
        if kind == "const":
            return mean / 1000.0
        # Pareto with shape 1.5 has a heavy tail and mean = xm * a / (a - 1).
        a = 1.5
        xm = mean * (a - 1) / a
        return min(xm / (random.random() ** (1 / a)), mean * 100) / 1000.0

    async def handle(self, reader, writer):
        self.conns += 1
        conn_no = self.conns
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = await reader.read(65536)
                    if not data:
                        return
                    if self.record:
                        self.record.write(data)
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, version = lines[0].split(" ", 2)
                headers = []
                for l in lines[1:]:
                    k, _, v = l.partition(":")
                    headers.append((k, v.strip()))
                hmap = {}
                for k, v in headers:
                    hmap.setdefault(k.lower(), v)
                body = b""
                if "content-length" in hmap:
                    n = int(hmap["content-length"])
                    while len(buf) < n:
                        data = await reader.read(65536)
                        if not data:
                            return
                        if self.record:
                            self.record.write(data)
                        buf += data
                    body, buf = buf[:n], buf[n:]
                elif hmap.get("transfer-encoding", "").lower().endswith("chunked"):
                    while True:
                        while b"\r\n" not in buf:
                            data = await reader.read(65536)
                            if not data:
                                return
                            if self.record:
                                self.record.write(data)
                            buf += data
                        line, _, buf = buf.partition(b"\r\n")
                        size = int(line.split(b";")[0], 16)
                        while len(buf) < size + 2:
                            data = await reader.read(65536)
                            if not data:
                                return
                            if self.record:
                                self.record.write(data)
                            buf += data
                        if size == 0:
                            # trailers until the empty line
                            while not buf.startswith(b"\r\n") and b"\r\n\r\n" not in buf:
                                data = await reader.read(65536)
                                if not data:
                                    return
                                if self.record:
                                    self.record.write(data)
                                buf += data
                            if buf.startswith(b"\r\n"):
                                buf = buf[2:]
                            else:
                                buf = buf.partition(b"\r\n\r\n")[2]
                            break
                        body += buf[:size]
                        buf = buf[size + 2:]
                if self.args.serial:
                    async with self.lock:
                        keep = await self.respond(writer, reader, method, target, version,
                                                  headers, hmap, body, conn_no)
                else:
                    keep = await self.respond(writer, reader, method, target, version, headers,
                                              hmap, body, conn_no)
                if not keep:
                    return
        except Exception:  # a test dyno survives whatever a connection does
            return
        finally:
            try:
                writer.close()
            except Exception:
                pass

    async def send(self, writer, status, body, extra=(), ctype="text/plain", head_only=False):
        h = [f"HTTP/1.1 {status} X", f"Content-Type: {ctype}", f"Content-Length: {len(body)}",
             f"X-Dyno: {self.args.name}"]
        h += list(extra)
        writer.write(("\r\n".join(h) + "\r\n\r\n").encode() + (b"" if head_only else body))
        await writer.drain()

    async def respond(self, writer, reader, method, target, version, headers, hmap, body,
                      conn_no):
        path, _, query = target.partition("?")
        q = dict(p.partition("=")[::2] for p in query.split("&") if p)
        head_only = method == "HEAD"
        if path == "/echo":
            out = json.dumps({"method": method, "target": target, "version": version,
                              "headers": headers, "body": body.decode("latin-1"),
                              "conn": conn_no, "dyno": self.args.name}).encode()
            await self.send(writer, 200, out, ctype="application/json", head_only=head_only)
        elif path == "/chunked":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                         b"Content-Type: text/plain\r\n\r\n5\r\nalpha\r\n4\r\nbeta\r\n0\r\n\r\n")
            await writer.drain()
        elif path == "/close":
            return False
        elif path == "/sleep":
            await asyncio.sleep(int(q.get("ms", "100")) / 1000)
            await self.send(writer, 200, b"slept\n")
        elif path == "/stall":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
            await writer.drain()
            await asyncio.sleep(3600)
        elif path == "/big":
            n = int(q.get("n", "1000000"))
            await self.send(writer, 200, (b"0123456789abcdef" * (n // 16 + 1))[:n])
        elif path == "/status":
            code = int(q.get("code", "200"))
            if code in (204, 304):
                writer.write(f"HTTP/1.1 {code} X\r\n\r\n".encode())
                await writer.drain()
            else:
                await self.send(writer, code, b"")
        elif path == "/bad":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello")
            await writer.drain()
            return False
        elif path == "/closeafter":
            await self.send(writer, 200, b"bye")
            return False
        elif path == "/bighead":
            await self.send(writer, 200, b"ok", (f"X-Big: {'v' * int(q.get('n', '100000'))}",))
        elif path == "/conn":
            await self.send(writer, 200, f"{conn_no}".encode())
        elif path == "/http10":
            writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nold style body")
            await writer.drain()
            return False
        elif path == "/ws":
            key = hmap.get("sec-websocket-key", "")
            acc = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
            writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: " + acc +
                          "\r\n\r\n").encode())
            await writer.drain()
            await self.ws_echo(reader, writer)
            return False
        else:
            extra = ()
            if self.service or "service_us" in q:
                loop = asyncio.get_running_loop()
                t0 = loop.time()
                want = int(q["service_us"]) / 1e6 if "service_us" in q else self.service_time()
                await asyncio.sleep(want)
                extra = (f"X-Service-Us: {int((loop.time() - t0) * 1e6)}",)
            await self.send(writer, 200, f"hello from {self.args.name}\n".encode(), extra,
                            head_only=head_only)
        return hmap.get("connection", "").lower() != "close"

    async def ws_echo(self, reader, writer):
        while True:
            hdr = await reader.readexactly(2)
            if self.record:
                self.record.write(hdr)
            op, ln = hdr[0] & 0x0F, hdr[1] & 0x7F
            masked = hdr[1] & 0x80
            if ln == 126:
                ext = await reader.readexactly(2)
                ln = int.from_bytes(ext, "big")
            elif ln == 127:
                ext = await reader.readexactly(8)
                ln = int.from_bytes(ext, "big")
            mask = await reader.readexactly(4) if masked else b"\0\0\0\0"
            data = bytearray(await reader.readexactly(ln))
            for i in range(ln):
                data[i] ^= mask[i % 4]
            if op == 8:
                writer.write(b"\x88\x00")
                await writer.drain()
                return
            out = bytes([0x80 | op])
            out += bytes([ln]) if ln < 126 else (bytes([126]) + ln.to_bytes(2, "big"))
            writer.write(out + bytes(data))
            await writer.drain()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--name", default="web.1")
    ap.add_argument("--record")
    ap.add_argument("--serial", action="store_true")
    ap.add_argument("--service-ms")
    ap.add_argument("--ready-file")
    args = ap.parse_args()
    b = Backend(args)
    server = await asyncio.start_server(b.handle, args.addr, args.port, backlog=1024)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("ready\n")
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
