"""Slow clients: connections that send half a request and wait (slowloris) must neither
stop Relais from answering Twilio nor stay open for long, with one process or several."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from core.twilio_simulator import TwilioSimulator
from relais.server import free_port
from testsupport.processes import ServeProcess, eventually

HALF_SENT = 1_100  # past the 1,024 sockets select() can watch
HALF_REQUEST = b"POST /voice HTTP/1.1\r\nHost: relais\r\nContent-Length: 200\r\n\r\nCallSid="


def closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(0)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:  # open, nothing to read
        return False
    except ConnectionResetError:
        return True


@pytest.mark.parametrize("workers", [1, 2])
def test_half_sent_requests_neither_block_calls_nor_stay_open(tmp_path: Path, workers: int) -> None:
    server = ServeProcess(
        tmp_path / "data", free_port(), "slow-token", workers=workers, RELAIS_CLIENT_TIMEOUT="2"
    )
    sim = TwilioSimulator(server.url, "slow-token")
    port = int(server.url.rsplit(":", 1)[1])
    clients: list[socket.socket] = []
    try:
        for _ in range(HALF_SENT):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(HALF_REQUEST)
            clients.append(sock)
        call = sim.call("+33612345678", ["2", "2", "1", "2"])  # while they all wait
        said = [line.text for line in call.transcript if line.who == "relais"]
        assert said[-1] == "Merci. Bonne journée. Au revoir.", call.transcript
        # Each half-sent request is cut once it has been silent for RELAIS_CLIENT_TIMEOUT.
        eventually(lambda: all(closed_by_server(sock) for sock in clients), timeout=15)
    finally:
        for sock in clients:
            sock.close()
        sim.close()
        server.stop()
