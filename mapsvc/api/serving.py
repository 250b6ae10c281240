"""Serving the API under uvicorn, by one worker process or several.

Several workers each listen on a socket of their own, bound to the same address
(SO_REUSEPORT), and the kernel spreads new connections over them by a hash of the connection's
addresses. Workers sharing one socket, as uvicorn's do, take its connections as the kernel
wakes them, which favours the worker that waited last: a burst of new connections (a wall's
tiles, a shift's phones) mostly lands on one worker, and keep-alive connections stay where
they land, waiting behind each other while another worker idles.
"""

import os
import signal
import socket
import ssl
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


def tls_problem(certfile: Path | None, keyfile: Path | None) -> str | None:
    """Why HTTPS cannot be served with this certificate and key (the settings at fault
    named), or None (None too when neither is set: plain HTTP)."""
    if certfile is None:
        return None if keyfile is None else ("MAPSVC_API_TLS_KEYFILE: set "
                                             "MAPSVC_API_TLS_CERTFILE, its certificate, too")
    for setting, path in (("CERTFILE", certfile), ("KEYFILE", keyfile)):
        if path is not None and not path.is_file():
            return f"MAPSVC_API_TLS_{setting}: no file {path}"
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile)
    except ssl.SSLError as e:
        return ("MAPSVC_API_TLS_CERTFILE, MAPSVC_API_TLS_KEYFILE: not a certificate and its "
                f"private key, in PEM ({e.reason or e})")
    except OSError as e:  # not to be read by this user
        return f"MAPSVC_API_TLS_CERTFILE, MAPSVC_API_TLS_KEYFILE: {e.strerror}"
    return None


def _terminated(signum: int, _frame) -> None:
    raise SystemExit(128 + signum)


def serve(host: str, port: int, workers: int, shutdown_seconds: int, pidfile: Path,
          tls: tuple[Path | None, Path | None] = (None, None)) -> None:
    """Serve the API until stopped (SIGINT, SIGTERM), the server's process id in ``pidfile``
    meanwhile; over HTTPS given ``tls``, a certificate and its key (tls_problem: none);
    OSError when ``host``:``port`` is taken."""
    config = uvicorn.Config(
        APP, factory=True, host=host, port=port, workers=workers, log_level="warning",
        ssl_certfile=tls[0], ssl_keyfile=tls[1],
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
            # uvicorn raises the signal that stopped it again once it has stopped: SIGTERM
            # would then end the process before the pid file goes
            signal.signal(signal.SIGTERM, _terminated)
            server = uvicorn.Server(config)
            server.run()
            if not server.started:  # the log says why
                raise SystemExit(STARTUP_FAILURE)
        else:
            Multiprocess(config, sockets=[_OwnListener(host, port, config.backlog)]).run()
    finally:
        pidfile.unlink(missing_ok=True)
