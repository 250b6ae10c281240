-- GET vector tiles from a list, the threads taking turns along it: once through (a thread
-- stops at the end of the list) or, with BENCH_REPEAT, round and round.
-- BENCH_TILE_PATH: the tiles' path up to z/x/y.
dofile(os.getenv("BENCH_TILES"))
local auth = "Bearer " .. os.getenv("BENCH_TOKEN")
local path = os.getenv("BENCH_TILE_PATH")
local threads = tonumber(os.getenv("BENCH_THREADS"))
local repeat_list = os.getenv("BENCH_REPEAT") == "1"
local counter = 0
local thread_id = 0
setup = function(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end
request = function()
  local i = (tid - 1) + counter * threads
  if i >= #tiles and not repeat_list then
    wrk.thread:stop()
  end
  i = i % #tiles + 1
  counter = counter + 1
  return wrk.format("GET", path .. tiles[i], {["Authorization"] = auth})
end
