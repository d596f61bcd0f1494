"""A TCP relay on loopback for the benchmarks: 127.0.0.1:port ->
127.0.0.1:target, a thread of its own, every byte both ways handed to the
caller (who counts, or cuts the stream into frames) before it is passed on.
Used by tls_bytes.py (bytes of a TLS connection) and collectd.py (each
daemon's Modbus and MQTT traffic): nothing in the servers or daemons changes.
"""
import selectors
import socket
import threading


class TcpRelay:
    """on_connect() when a client connects (a new stream starts);
    on_data(upward, buf) for each chunk, upward = client -> target. Both run
    under self.lock, on the relay's thread."""

    def __init__(self, target, on_data, on_connect=None, nodelay=False):
        self.target = target
        self.on_data = on_data
        self.on_connect = on_connect
        self.nodelay = nodelay
        self.lock = threading.Lock()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.stop = False
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.lsock, selectors.EVENT_READ, None)
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def close_pair(self, a, b):
        for s in (a, b):
            try:
                self.sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()

    def accept(self):
        c, _ = self.lsock.accept()
        s = socket.create_connection(("127.0.0.1", self.target))
        if self.nodelay:
            for x in (c, s):
                x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.on_connect is not None:
            with self.lock:
                self.on_connect()
        self.sel.register(c, selectors.EVENT_READ, (s, True))
        self.sel.register(s, selectors.EVENT_READ, (c, False))

    def run(self):
        while not self.stop:
            for key, _ in self.sel.select(0.2):
                if key.data is None:
                    self.accept()
                    continue
                peer, upward = key.data
                try:
                    buf = key.fileobj.recv(65536)
                except OSError:
                    buf = b""
                if not buf:
                    self.close_pair(key.fileobj, peer)
                    continue
                with self.lock:
                    self.on_data(upward, buf)
                try:
                    peer.sendall(buf)
                except OSError:
                    self.close_pair(key.fileobj, peer)

    def close(self):
        self.stop = True
        self.t.join()
        self.lsock.close()
