"""A TCP forwarder that a test can cut, hold and restore: the network path to a service
(the database, Twilio's API) going away for a few seconds, or hanging, with the real
service behind."""

from __future__ import annotations

import contextlib
import socket
import threading


class Switch:
    """Listens on a local port and forwards to `target` while on; while off, every
    connection, new or open, is cut; while held, new connections are taken and never
    answered (a request that hangs)."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.mode = "on"
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode == "off":
                client.close()
                continue
            if self.mode == "hold":
                with self._lock:
                    self._open.add(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.mode = "off"
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._open.clear()

    def hold(self) -> None:
        self.mode = "hold"

    def restore(self) -> None:
        self.mode = "on"

    def close(self) -> None:
        self.cut()
        self._listener.close()
