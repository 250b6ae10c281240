-- GET /api/v1/locate at random points inside random grids
dofile(os.getenv("BENCH_POINTS"))
local auth = "Bearer " .. os.getenv("BENCH_TOKEN")
math.randomseed(os.time())
request = function()
  local p = points[math.random(#points)]
  return wrk.format("GET", string.format("/api/v1/locate?lon=%.7f&lat=%.7f", p[1], p[2]),
                    {["Authorization"] = auth})
end
