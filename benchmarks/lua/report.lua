-- POST /api/v1/incidents: a new client id each time, at random points inside random grids
dofile(os.getenv("BENCH_POINTS"))
local auth = "Bearer " .. os.getenv("BENCH_TOKEN")
local run = os.getenv("BENCH_RUN")
-- (BENCH_RUN names the run: a new one for each run, or its reports would be retries)
local counter = 0
local thread_id = 0
local threads = {}
setup = function(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  table.insert(threads, thread)
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

-- every answer but 201 (a new incident), counted in each thread and summed at the end
others = 0
response = function(status, headers, body)
  if status ~= 201 then
    others = others + 1
  end
end
done = function(summary, latency, requests)
  local n = 0
  for _, thread in ipairs(threads) do
    n = n + thread:get("others")
  end
  io.write(string.format("answers other than 201: %d\n", n))
end
