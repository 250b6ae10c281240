"""The benchmarks' count of the connections each worker of the service holds (benchmarks/wrk.py),
printed beside the locate and POST figures."""

import socket
import time

from benchmarks.wrk import connections_per_worker
from tests.conftest import Server


def test_each_worker_is_counted_the_connections_it_holds_and_not_its_clients(database_url):
    served = Server("connections").start()
    try:
        assert connections_per_worker(served.base) == []
        clients = [socket.create_connection(("127.0.0.1", served.port)) for _ in range(3)]
        try:
            for _ in range(100):  # until the server has taken them from its socket
                if sum(connections_per_worker(served.base)) == 3:
                    break
                time.sleep(0.05)
            # one process holds all three; the clients' own ends, in this process, are not
            # counted
            assert connections_per_worker(served.base) == [3]
        finally:
            for client in clients:
                client.close()
    finally:
        served.stop()
