#!/usr/bin/python3
"""An update server for the OTA tests and benchmarks: serves the files of a
directory over HTTPS (or plain HTTP with --plain) with single byte ranges
(RFC 9110 14), counts the body bytes it sends, and misbehaves on demand.

  otaserver.py --dir DIR [--port N] [--cert CRT --key KEY | --plain]
               [--control FILE] [--fault [PATH=]SPEC ...]

It prints "otaserver: listening on PORT" once it accepts connections, then
one line per response, e.g.
  otaserver: GET /img.bin range 0-65535 -> 206 sent 65536 total 65536
and on SIGTERM/SIGINT "otaserver: total N bytes in R requests". "total" is
every body byte written so far (the bytes a client fetched, for
bytes fetched / image size).

Faults (SPEC; several joined with ","), for every path or for PATH only:
  404 | 500 | 503         that status, no body
  drop:N[:K]              the body is cut after N bytes (the connection
                          closed without a TLS close_notify), on every K-th
                          request to that path (default every one)
  extra:N                 N bytes more than the range, Content-Length says so
  extra_close:N           N bytes more, no Content-Length (ends at the close)
  norange                 200 with the whole file, whatever Range asks
  shift                   206 for the range one byte later than asked
  slow:BPS                the body at BPS bytes per second
  stall:S                 the head, then nothing for S seconds, then close
  redirect:URL            302 to URL
The control file (JSON: {"PATH or *": "SPEC", ...}) is read again at every
request, so a test changes the faults while the server runs; CLI faults
apply when it names none for that path.
"""
import argparse
import http.server
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time

LOCK = threading.Lock()
STATS = {"total": 0, "requests": 0}
HITS = {}  # path -> requests so far


def say(line):
    with LOCK:
        sys.stdout.write("otaserver: %s\n" % line)
        sys.stdout.flush()


def parse_faults(spec):
    """'drop:100:2,slow:5000' -> {"drop": ["100", "2"], "slow": ["5000"]}"""
    out = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        name, _, rest = item.partition(":")
        if name == "redirect":
            out[name] = [rest]
        else:
            out[name] = rest.split(":") if rest else []
    return out


def parse_range(header, size):
    """(first, last) inclusive, None for no/unsupported Range, or "bad"."""
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    a, _, b = spec.strip().partition("-")
    try:
        if a == "":
            n = int(b)
            if n <= 0:
                return "bad"
            return max(0, size - n), size - 1
        first = int(a)
        last = int(b) if b else size - 1
    except ValueError:
        return None
    if first >= size or last < first:
        return "bad"
    return first, min(last, size - 1)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "otaserver/1"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(60)
            self.request.do_handshake()
        super().setup()

    def faults(self, path):
        spec = None
        ctl = self.server.control
        if ctl:
            try:
                with open(ctl) as f:
                    table = json.load(f)
                spec = table.get(path, table.get("*"))
            except (OSError, ValueError):
                spec = None
        if spec is None:
            spec = self.server.cli.get(path, self.server.cli.get("*", ""))
        return parse_faults(spec)

    def count(self, n):
        with LOCK:
            STATS["total"] += n

    def send_body(self, f, n, faults, hit):
        """n bytes of f to the client, as the faults say; the bytes sent."""
        sent = 0
        cut = None
        if "drop" in faults:
            every = int(faults["drop"][1]) if len(faults["drop"]) > 1 else 1
            if hit % every == 0:
                cut = int(faults["drop"][0])
        bps = int(faults["slow"][0]) if "slow" in faults else 0
        piece = 16384 if not bps else max(1, min(16384, bps // 20))
        while sent < n:
            k = min(piece, n - sent)
            if cut is not None:
                k = min(k, cut - sent)
                if k <= 0:
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return sent, "dropped"
            data = f.read(k)
            if len(data) < k:
                data += b"\0" * (k - len(data))  # extra bytes past the end
            try:
                self.wfile.write(data)
                self.wfile.flush()
            except OSError:
                return sent, "client gone"
            sent += k
            self.count(k)
            if bps:
                time.sleep(k / bps)
        return sent, ""

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        with LOCK:
            STATS["requests"] += 1
            HITS[path] = hit = HITS.get(path, 0) + 1
        faults = self.faults(path)
        rel = os.path.normpath(path.lstrip("/"))
        file = os.path.join(self.server.dir, rel)
        for code in ("404", "500", "503"):
            if code in faults:
                return self.bare(int(code), path)
        if "redirect" in faults:
            return self.bare(302, path, [("Location", faults["redirect"][0])])
        if rel.startswith("..") or not os.path.isfile(file):
            return self.bare(404, path)
        size = os.path.getsize(file)
        rng = parse_range(self.headers.get("Range"), size)
        if rng == "bad":
            return self.bare(416, path, [("Content-Range", "bytes */%d" % size)])
        if rng is None or "norange" in faults:
            status, first, last = 200, 0, size - 1
        else:
            status, (first, last) = 206, rng
            if "shift" in faults and last + 1 < size:
                first, last = first + 1, last + 1
        n = last - first + 1
        extra = 0
        for k in ("extra", "extra_close"):
            if k in faults:
                extra = int(faults[k][0])
        self.send_response(status)
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (first, last, size))
        if "extra_close" in faults:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(n + extra))
        self.end_headers()
        self.wfile.flush()
        if "stall" in faults:
            time.sleep(float(faults["stall"][0]))
            self.close_connection = True
            say("GET %s range %d-%d -> %d stalled total %d" %
                (path, first, last, status, STATS["total"]))
            return
        with open(file, "rb") as f:
            f.seek(first)
            sent, how = self.send_body(f, n + extra, faults, hit)
        say("GET %s range %d-%d -> %d sent %d%s total %d" %
            (path, first, last, status, sent, " " + how if how else "",
             STATS["total"]))

    def bare(self, status, path, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()
        say("GET %s -> %d sent 0 total %d" % (path, status, STATS["total"]))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, args):
        super().__init__(addr, Handler)
        self.dir = os.path.abspath(args.dir)
        self.control = args.control
        self.cli = {}
        for spec in args.fault:
            path, eq, rest = spec.partition("=")
            if eq and path.startswith("/"):
                self.cli[path] = rest
            else:
                self.cli["*"] = spec
        self.tls = None
        if not args.plain:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.minimum_version = ssl.TLSVersion.TLSv1_2
            self.tls.load_cert_chain(args.cert, args.key)

    def get_request(self):
        conn, addr = self.socket.accept()
        if self.tls:
            # The handshake in the handler's thread, not the accepting one.
            conn = self.tls.wrap_socket(conn, server_side=True,
                                        do_handshake_on_connect=False)
        return conn, addr

    def handle_error(self, request, client_address):
        pass  # a client that went away, a failed handshake: not ours


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--plain", action="store_true")
    ap.add_argument("--control")
    ap.add_argument("--fault", action="append", default=[])
    args = ap.parse_args()
    if not args.plain and not (args.cert and args.key):
        ap.error("--cert and --key, or --plain")
    srv = Server((args.host, args.port), args)

    def stop(signum, frame):
        say("total %d bytes in %d requests" % (STATS["total"], STATS["requests"]))
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    say("listening on %d" % srv.server_address[1])
    srv.serve_forever()


class Handle:
    """The server as a test runs it (harness.Env): started, faults set
    through its control file, bytes counted from its lines."""

    def __init__(self, env, www, cert=None, faults=None, name="otaserver"):
        self.control = os.path.join(env.dir, name + ".control.json")
        self.set(faults or {})
        argv = [sys.executable, os.path.abspath(__file__), "--dir", www,
                "--control", self.control]
        argv += ["--cert", cert[0], "--key", cert[1]] if cert else ["--plain"]
        self.proc = env.start(name, argv)
        line = self.proc.wait_for(self.proc.out_path, "listening on")
        self.port = int(line.rsplit(" ", 1)[1])

    def set(self, faults):
        """{"PATH or *": "SPEC"}; read by the server at its next request."""
        tmp = self.control + ".tmp"
        with open(tmp, "w") as f:
            json.dump(faults, f)
        os.replace(tmp, self.control)

    def url(self, path, host="127.0.0.1", scheme="https"):
        return "%s://%s:%d%s" % (scheme, host, self.port, path)

    def sent(self):
        """Body bytes sent so far (the last line's total)."""
        total = 0
        with open(self.proc.out_path) as f:
            for line in f:
                if " total " in line:
                    total = int(line.split(" total ", 1)[1].split()[0])
        return total


if __name__ == "__main__":
    main()
