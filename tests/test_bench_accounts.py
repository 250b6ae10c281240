"""The accounts `make bench` signs in with are made as the service's rules want them, and sign
in: a grid worker's (most reports) and the city centre's."""

from benchmarks.__main__ import bench_token
from mapsvc.accounts.tokens import read_token


def test_the_benchmarks_accounts_are_made_and_sign_in(server, grids):
    worker, city = (read_token(bench_token(server, name)) for name in ("bench", "bench_city"))
    assert (worker.username, worker.role.value, len(worker.grid_ids)) == ("bench", "grid_worker", 1)
    assert (city.username, city.role.value) == ("bench_city", "command")
