"""A phone's signal between the browser and the service: a relay of its connections that can
stall them, as a connection lost between cells does: what the phone asks still reaches the
service, but no answer comes back, and no error either, until the signal returns."""

import socket
import threading
from urllib.parse import urlsplit

from tests.conftest import free_port


class Signal:
    """Relays http://127.0.0.1:{port} to ``server`` (a base URL); ``stall()`` holds every
    answer back, on the connections open and on new ones, until ``restore()``."""

    def __init__(self, server: str):
        target = urlsplit(server)
        self.target = (target.hostname, target.port)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.flowing = threading.Event()
        self.flowing.set()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def stall(self) -> None:
        self.flowing.clear()

    def restore(self) -> None:
        self.flowing.set()

    def close(self) -> None:
        self.flowing.set()
        self.listener.close()
        for connection in self.connections:
            connection.close()

    def __enter__(self) -> "Signal":
        return self

    def __exit__(self, *_) -> None:
        self.close()

    def _accept(self) -> None:
        while True:
            try:
                phone, _ = self.listener.accept()
            except OSError:  # closed
                return
            service = socket.create_connection(self.target)
            self.connections += [phone, service]
            threading.Thread(target=self._relay, args=(phone, service, False),
                             daemon=True).start()
            threading.Thread(target=self._relay, args=(service, phone, True),
                             daemon=True).start()

    def _relay(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        try:
            while data := source.recv(65536):
                if answers:
                    self.flowing.wait()
                sink.sendall(data)
        except OSError:  # the other way closed it
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
