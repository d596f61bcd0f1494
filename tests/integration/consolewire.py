"""A client of the technician console's socket (docs/console.md "Protocol"):
JSON request lines out, reply, event and notice lines in. For the socket
tests (test_console_socket.py) and the login and action tests.

    c = Console("/run/wattgate/console.sock")
    r = c.call("status")            # the final reply: {"id":..,"ok":..,...}
    c.events[r["id"]]               # events streamed before it (watch, scan)
    c.notices                       # unsolicited {"id":0,"notice":...} texts
"""
import json
import socket
import time


class Closed(Exception):
    """The daemon closed the connection."""


class Console:
    def __init__(self, path, timeout=10):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.next_id = 1
        self.events = {}        # id -> [event, ...]
        self.replies = {}       # id -> final reply not asked for yet
        self.notices = []       # texts of {"id":0,"notice":...}
        self.errors0 = []       # {"id":0,"ok":false,...}: unparsable lines, refusals

    def send_raw(self, data):
        self.sock.sendall(data)

    def raw_line(self, timeout=10):
        """The next line as bytes (without its LF); Closed at EOF."""
        deadline = time.time() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no line from the console within %ss" % timeout)
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError("no line from the console within %ss" % timeout)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise Closed("closed by the daemon (%d bytes of a line left: %r)"
                             % (len(self.buf), self.buf[:200]))
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def read_line(self, timeout=10):
        """The next line as a dict (also notices and events: sorted into
        self.notices / self.events as well)."""
        msg = json.loads(self.raw_line(timeout))
        if "notice" in msg:
            self.notices.append(msg["notice"])
        elif "event" in msg:
            self.events.setdefault(msg["id"], []).append(msg["event"])
        elif msg.get("id") == 0 and msg.get("ok") is False:
            self.errors0.append(msg["error"])
        return msg

    def request(self, cmd, *args, body=None, id=None):
        """Sends one request; returns its id."""
        if id is None:
            id = self.next_id
            self.next_id += 1
        req = {"id": id, "cmd": cmd}
        if args:
            req["args"] = [str(a) for a in args]
        if body is not None:
            req["body"] = body
        self.send_raw(json.dumps(req).encode() + b"\n")
        return id

    def reply(self, id, timeout=10):
        """The final reply of request id (events and other replies kept)."""
        deadline = time.time() + timeout
        while id not in self.replies:
            msg = self.read_line(max(0.01, deadline - time.time()))
            if "ok" in msg and msg.get("id"):
                self.replies[msg["id"]] = msg
        return self.replies.pop(id)

    def call(self, cmd, *args, body=None, timeout=10):
        """One request and its final reply."""
        return self.reply(self.request(cmd, *args, body=body), timeout)

    def closed(self, timeout=10):
        """True once the daemon closed the connection (lines before that
        are read and sorted); False if it is still open after timeout."""
        deadline = time.time() + timeout
        try:
            while True:
                msg = self.read_line(max(0.01, deadline - time.time()))
                if "ok" in msg and msg.get("id"):
                    self.replies[msg["id"]] = msg
        except Closed:
            return True
        except TimeoutError:
            return False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
