"""Serving the API under uvicorn, by one worker process or several.

Several workers each listen on a socket of their own, bound to the same address
(SO_REUSEPORT), and the kernel spreads new connections over them by a hash of the connection's
addresses. Workers sharing one socket, as uvicorn's do, take its connections as the kernel
wakes them, which favours the worker that waited last: a burst of new connections (a wall's
tiles, a shift's phones) mostly lands on one worker, and keep-alive connections stay where
they land, waiting behind each other while another worker idles.
"""

import os
import socket
from pathlib import Path

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

APP = "mapsvc.api.main:create_app"


def _bound(host: str, port: int, *, shared: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _listener(host: str, port: int, backlog: int) -> socket.socket:
    """A socket listening on ``host``:``port`` beside the other workers' (SO_REUSEPORT)."""
    sock = _bound(host, port, shared=True)
    sock.listen(backlog)
    return sock


class _OwnListener:
    """Stands for a worker's socket among those uvicorn hands its workers: it is bound where
    it is unpickled, in the worker, so that each worker (one restarted too) has its own."""

    def __init__(self, host: str, port: int, backlog: int):
        self.address = (host, port, backlog)

    def __reduce__(self):
        return _listener, self.address


def serve(host: str, port: int, workers: int, shutdown_seconds: int, pidfile: Path) -> None:
    """Serve the API until stopped (SIGINT, SIGTERM), the server's process id in ``pidfile``
    meanwhile; OSError when ``host``:``port`` is taken."""
    config = uvicorn.Config(
        APP, factory=True, host=host, port=port, workers=workers, log_level="warning",
        # at this level the access log's lines are dropped, after being written out for every
        # request
        access_log=False,
        # live feeds never end by themselves: close them after this long
        timeout_graceful_shutdown=shutdown_seconds)
    # taken (by another server too, whose workers these would otherwise join): said here, not
    # by each worker failing to start
    _bound(host, port, shared=False).close()
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    pidfile.write_text(str(os.getpid()))
    try:
        if workers == 1:
            server = uvicorn.Server(config)
            server.run()
            if not server.started:  # the log says why
                raise SystemExit(STARTUP_FAILURE)
        else:
            Multiprocess(config, sockets=[_OwnListener(host, port, config.backlog)]).run()
    finally:
        pidfile.unlink(missing_ok=True)
