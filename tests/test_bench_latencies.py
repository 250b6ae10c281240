"""The benchmarks' latencies: wrk's added samples taken away again (benchmarks/wrk.py)."""

from hypothesis import given
from hypothesis import strategies as st

from benchmarks.wrk import as_answered, undo_correction


def wrk_correction(recorded: dict[int, int], interval: int) -> dict[int, int]:
    """What wrk's stats_correct (stats.c) makes of the latencies it recorded, step by step
    as it runs over its histogram, shortest first."""
    held = dict(recorded)
    for us in range(interval * 2, max(recorded, default=0) + 1):
        count, shorter = held.get(us, 0), us - interval
        while count and shorter > interval:
            held[shorter] = held.get(shorter, 0) + count
            shorter -= interval
    return held


@given(st.dictionaries(st.integers(1, 20_000), st.integers(1, 50), min_size=1),
       st.integers(100, 3_000))
def test_the_latencies_wrk_recorded_come_back_from_what_it_held(recorded, interval):
    assert undo_correction(wrk_correction(recorded, interval), interval) == recorded


def test_a_run_reads_back_to_one_latency_per_request():
    # one connection, 4 requests in 10 ms (interval 2,500 µs): one answered in 4,000 µs, and
    # the 9,000 µs answer made wrk add samples of 6,500 and 4,000 µs
    out = "run 10000 us, 4 requests\n" + "".join(
        f"latency {us} {n}\n" for us, n in ((300, 2), (4000, 2), (6500, 1), (9000, 1)))
    assert sorted(as_answered(out, 1)) == [0.3, 0.3, 4.0, 9.0]
