-- POST /api/v1/incidents: a new client id each time, at random points inside random grids
dofile(os.getenv("BENCH_POINTS"))
local auth = "Bearer " .. os.getenv("BENCH_TOKEN")
local run = os.getenv("BENCH_RUN")
local counter = 0
local thread_id = 0
setup = function(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end
request = function()
  counter = counter + 1
  local p = points[math.random(#points)]
  -- a UUID unique per run, thread and request
  local id = string.format("%s-%04x-4%03x-8%03x-%012x", string.sub(run, 1, 8), tid,
                           math.floor(counter / 4096) % 4096, counter % 4096, counter)
  local body = string.format(
    '{"client_id":"%s","category":"06","lon":%.7f,"lat":%.7f,"description":"bench"}',
    id, p[1], p[2])
  return wrk.format("POST", "/api/v1/incidents",
                    {["Content-Type"] = "application/json", ["Authorization"] = auth}, body)
end
