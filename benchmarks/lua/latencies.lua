-- Runs the load script BENCH_SCRIPT names and, at the end, writes out the run's length and
-- number of requests and every latency wrk holds with its count, for benchmarks/wrk.py to
-- take wrk's own added samples away from.
dofile(os.getenv("BENCH_SCRIPT"))
local script_done = done
done = function(summary, latency, requests)
  if script_done then
    script_done(summary, latency, requests)
  end
  io.write(string.format("run %d us, %d requests\n", summary.duration, summary.requests))
  for i = 1, #latency do
    local us, count = latency(i)
    io.write(string.format("latency %d %d\n", us, count))
  end
end
