"""A loopback TCP proxy the test controls, to cut a link the way a cellular link dies: while
cut, bytes are silently held back (nothing is closed, as with a modem that lost its signal)
and new connections go nowhere; on restore the dead connections are dropped and new ones
are relayed again."""

from __future__ import annotations

import select
import socket
import threading


class LinkProxy:
    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.dead: list[socket.socket] = []  # accepted while cut: never answered
        self.up = threading.Event()
        self.up.set()
        self.closing = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def cut(self) -> None:
        self.up.clear()

    def restore(self) -> None:
        with self.lock:
            for a, b in self.pairs:
                a.close()
                b.close()
            for sock in self.dead:
                sock.close()
            self.pairs, self.dead = [], []
        self.up.set()

    def close(self) -> None:
        self.closing.set()
        self.restore()
        self.listener.close()
        self.thread.join(5)

    def _run(self) -> None:
        while not self.closing.is_set():
            with self.lock:  # while cut, bytes wait in the kernel: nothing is read, nothing relayed
                sockets = [s for pair in self.pairs for s in pair] if self.up.is_set() else []
            try:
                readable, _, _ = select.select([self.listener, *sockets], [], [], 0.05)
            except (OSError, ValueError):
                continue  # a socket closed by restore() between the list and the select
            for sock in readable:
                if sock is self.listener:
                    self._accept()
                else:
                    self._relay(sock)

    def _accept(self) -> None:
        try:
            client, _ = self.listener.accept()
        except OSError:
            return
        if not self.up.is_set():
            with self.lock:
                self.dead.append(client)  # kept open, never answered: a connection into a dead link
            return
        upstream = socket.create_connection(self.target)
        with self.lock:
            self.pairs.append((client, upstream))

    def _relay(self, sock: socket.socket) -> None:
        with self.lock:
            pair = next((p for p in self.pairs if sock in p), None)
        if pair is None:
            return
        other = pair[1] if sock is pair[0] else pair[0]
        try:
            data = sock.recv(65536)
            if data:
                other.sendall(data)
                return
        except OSError:
            pass
        with self.lock:
            if pair in self.pairs:
                self.pairs.remove(pair)
        pair[0].close()
        pair[1].close()
