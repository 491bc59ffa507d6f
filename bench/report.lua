-- wrk script: an API key header, optional page walk or sequence of requests, and a JSON summary
-- on the last line.
local key = os.getenv("BENCH_KEY")
local paths_file = os.getenv("BENCH_PATHS") or ""
local seq = {}
local seq_i = 0
local walk_pages = tonumber(os.getenv("BENCH_WALK_PAGES") or "0")
local walk_path = os.getenv("BENCH_WALK_PATH") or ""
local page = 0
local done_pages = 0
local bad = 0

function setup(thread) end

function init(args)
  if key and key ~= "" then wrk.headers["x-api-key"] = key end
  if paths_file ~= "" then
    -- one request a line: its key ("-" for none) and its path, sent in order, then again
    for line in io.lines(paths_file) do
      local k, p = line:match("^(%S+)%s+(%S+)$")
      if k then seq[#seq + 1] = {k, p} end
    end
  end
end

function request()
  if #seq > 0 then
    seq_i = seq_i % #seq + 1
    local h = {}
    if seq[seq_i][1] ~= "-" then h["x-api-key"] = seq[seq_i][1] end
    return wrk.format(nil, seq[seq_i][2], h)
  end
  if walk_pages > 0 then
    page = page + 1
    if page > walk_pages then page = walk_pages end
    return wrk.format(nil, walk_path .. "&page=" .. page)
  end
  return wrk.request()
end

function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
  if walk_pages > 0 then
    done_pages = done_pages + 1
    if done_pages == walk_pages then
      -- the harness times the walk until this file appears, then stops wrk
      local f = io.open(os.getenv("BENCH_WALK_DONE"), "w")
      f:write("done\n")
      f:close()
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,' ..
    '"max_us":%d,"errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max,
    e.connect + e.read + e.write + e.timeout, e.status))
end
