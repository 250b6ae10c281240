-- GET vector tiles from a list, the threads taking turns along it, so that a cold run asks
-- for each tile once (a thread stops at the end of the list) and a cached run (BENCH_REPEAT,
-- a short warmed list) goes round and round. BENCH_OFFSET and BENCH_END: the part of the list asked.
-- BENCH_VARY: each request with its own query (visit_days), so that none is answered from the
-- cache: to warm the service up. BENCH_TILE_PATH: the tiles' path up to z/x/y.
dofile(os.getenv("BENCH_TILES"))
local auth = "Bearer " .. os.getenv("BENCH_TOKEN")
local path = os.getenv("BENCH_TILE_PATH")
local threads = tonumber(os.getenv("BENCH_THREADS"))
local repeat_list = os.getenv("BENCH_REPEAT") == "1"
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")
local last = tonumber(os.getenv("BENCH_END") or "0")
local vary = os.getenv("BENCH_VARY") == "1"
if last == 0 then last = #tiles end
local counter = 0
local thread_id = 0
setup = function(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end
request = function()
  local i = offset + (tid - 1) + counter * threads
  if i >= last and not repeat_list then
    wrk.thread:stop()
  end
  i = i % #tiles + 1
  counter = counter + 1
  local query = vary and ("?visit_days=" .. (counter % 366 + 1)) or ""
  return wrk.format("GET", path .. tiles[i] .. query, {["Authorization"] = auth})
end
