-- wrk script for bench/live_events.sh: posts pre-signed item events read from $LIVE_EVENTS_REQUESTS
-- (one "body<TAB>signature<TAB>delivery id" line each). Each wrk thread takes every n-th line, so
-- threads never send the same delivery. Counts 202 (accepted), 200 (duplicate) and other statuses.
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_index", counter)
  table.insert(threads, thread)
end

function init(args)
  lines = {}
  local n = 0
  local stride = tonumber(os.getenv("LIVE_EVENTS_THREADS"))
  -- Requests are formatted here, before the clock starts, so that request() costs wrk next to
  -- nothing: wrk shares the machine with the integration it measures.
  for line in io.lines(os.getenv("LIVE_EVENTS_REQUESTS")) do
    n = n + 1
    if n % stride == thread_index - 1 then
      local body, signature, delivery = line:match("^(.-)\t(.-)\t(.-)$")
      local headers = {}
      headers["Content-Type"] = "application/json"
      headers["X-Signature"] = signature
      headers["X-Delivery-Id"] = delivery
      table.insert(lines, wrk.format("POST", "/integration/items", headers, body))
    end
  end
  position = 0
  accepted = 0
  duplicates = 0
  others = 0
end

function request()
  position = position % #lines + 1
  return lines[position]
end

function response(status, headers, body)
  if status == 202 then
    accepted = accepted + 1
  elseif status == 200 then
    duplicates = duplicates + 1
  else
    others = others + 1
  end
end

function done(summary, latency, requests)
  local a, d, o = 0, 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("accepted")
    d = d + thread:get("duplicates")
    o = o + thread:get("others")
  end
  io.write(string.format("wrk-result accepted=%d duplicates=%d other=%d seconds=%.3f\n", a, d, o,
    summary.duration / 1e6))
end
