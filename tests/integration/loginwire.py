"""A minimal client of the console's socket (docs/console.md "Protocol"),
with the API of H1's consolewire.py, for test_console_login.py until that
is merged. DELETE THIS FILE then (test_console_login.py imports
consolewire first)."""
import json
import socket
import time


class Console:
    def __init__(self, path, timeout=10):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.next_id = 1
        self.events = {}
        self.notices = []

    def send_raw(self, data):
        self.s.sendall(data)

    def read_line(self, timeout=10):
        deadline = time.time() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no line from the console in %ss" % timeout)
            self.s.settimeout(left)
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("the console closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, cmd, *args, body=None, timeout=10):
        rid = self.next_id
        self.next_id += 1
        req = {"id": rid, "cmd": cmd}
        if args:
            req["args"] = list(args)
        if body is not None:
            req["body"] = body
        self.send_raw(json.dumps(req).encode() + b"\n")
        while True:
            m = self.read_line(timeout)
            if m.get("id") == rid and "event" in m:
                self.events.setdefault(rid, []).append(m["event"])
            elif m.get("id") == rid:
                return m
            elif "notice" in m:
                self.notices.append(m)

    def close(self):
        self.s.close()
