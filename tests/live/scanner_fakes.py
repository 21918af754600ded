"""Stand-ins for a broken scanning daemon (spamd, clamd) in the failure tests."""
from __future__ import annotations

import socket
import threading


class FakePeer:
    """A TCP listener on 127.0.0.1 that reads what it is sent and answers `reply` (nothing when
    None), then closes: a broken or hung daemon for the failure paths."""

    def __init__(self, reply: bytes | None):
        self.reply, self.connections = reply, 0
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.open: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            self.open.append(conn)
            if self.reply is not None:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    conn.sendall(self.reply)
                except OSError:
                    pass
                conn.close()

    def close(self):
        self.listener.close()
        for conn in self.open:
            conn.close()
