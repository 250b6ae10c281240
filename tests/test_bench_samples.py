"""What the benchmarks sample while wrk runs (benchmarks/wrk.py), printed beside the locate and
POST figures: the connections each worker of the service holds, and the CPU each part used; and
that every name they import is there."""

import socket
import threading
import time

import psycopg

from benchmarks.wrk import connections_per_worker, during_run
from mapsvc.db.engine import conninfo
from tests.conftest import Server


def test_each_worker_is_counted_the_connections_it_holds_and_not_its_clients(database_url):
    served = Server("connections").start()
    try:
        assert not connections_per_worker(served.base)
        clients = [socket.create_connection(("127.0.0.1", served.port)) for _ in range(3)]
        try:
            for _ in range(100):  # until the server has taken them from its socket
                if sum(connections_per_worker(served.base).values()) == 3:
                    break
                time.sleep(0.05)
            # one process holds all three; the clients' own ends, in this process, are not
            # counted
            assert list(connections_per_worker(served.base).values()) == [3]
        finally:
            for client in clients:
                client.close()
    finally:
        served.stop()


# A backend kept busy for this long by a loop in PL/pgSQL, which asks nothing of the service.
BUSY = "DO $$ BEGIN WHILE clock_timestamp() < now() + interval '2.5 s' LOOP END LOOP; END $$"


def test_the_cpu_a_run_uses_is_counted_to_the_part_that_used_it(database_url):
    served = Server("cpu").start()
    try:
        client = socket.create_connection(("127.0.0.1", served.port))  # the worker is found by it
        try:
            with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
                busy = threading.Thread(target=conn.execute, args=(BUSY,))
                busy.start()
                try:
                    sample = during_run(served.base, after=0.5, window=1.5)
                finally:
                    busy.join()
        finally:
            client.close()
    finally:
        served.stop()
    assert sample.split == [1]
    # the busy backend used what share of a core the machine left it (at least a fifth, with
    # the suite's other process busy beside it), far more than the idle worker; the absent wrk
    # nothing
    assert sample.cpu["PostgreSQL"] > max(0.2, 3 * sample.cpu["the service's workers"])
    assert sample.cpu["the service's workers"] < 0.2
    assert sample.cpu["wrk"] == 0
    assert 0 <= sample.idle < 1


def test_every_name_the_benchmarks_import_is_there():
    """`make bench` runs for half an hour before it reaches its last functions, which import
    what they time as they start: a name since renamed or removed would stop it there."""
    import ast
    import importlib
    from pathlib import Path

    def there(module: str, name: str) -> bool:  # a name in the module, or a module in it
        if hasattr(importlib.import_module(module), name):
            return True
        try:
            return importlib.import_module(f"{module}.{name}") is not None
        except ModuleNotFoundError:
            return False

    missing = []
    for path in sorted((Path(__file__).parents[1] / "benchmarks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                missing += [f"{path.name}: {node.module}.{alias.name}" for alias in node.names
                            if not there(node.module, alias.name)]
    assert missing == []
