-- One load scenario for wrk, driven by `loadtest`. Configured through the environment:
--   LOAD_METHOD         GET or POST
--   LOAD_BODY           the request body (POST)
--   LOAD_CONTENT_TYPE   its Content-Type
--   LOAD_AUTHORIZATION  an Authorization header value
--   LOAD_SIGNUP_PREFIX  when set, every request signs up a new user named <prefix><thread>-<n>
--   LOAD_PASSWORD       the password those sign-ups use
-- done() prints one JSON line with the counts and latency percentiles (microseconds).

local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  non_2xx = 0
  sent = 0
  wrk.method = os.getenv("LOAD_METHOD") or "GET"
  local body = os.getenv("LOAD_BODY")
  if body and body ~= "" then
    wrk.body = body
  end
  local content_type = os.getenv("LOAD_CONTENT_TYPE")
  if content_type and content_type ~= "" then
    wrk.headers["Content-Type"] = content_type
  end
  local authorization = os.getenv("LOAD_AUTHORIZATION")
  if authorization and authorization ~= "" then
    wrk.headers["Authorization"] = authorization
  end
  signup_prefix = os.getenv("LOAD_SIGNUP_PREFIX")
  password = os.getenv("LOAD_PASSWORD") or ""
  fixed_request = wrk.format()
end

function request()
  if signup_prefix and signup_prefix ~= "" then
    sent = sent + 1
    local body = string.format('{"username":"%s%d-%d","password":"%s"}',
      signup_prefix, thread_id, sent, password)
    return wrk.format(nil, nil, nil, body)
  end
  return fixed_request
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
  end
end

function done(summary, latency, requests)
  local unexpected = 0
  for _, thread in ipairs(threads) do
    unexpected = unexpected + thread:get("non_2xx")
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"non_2xx":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, unexpected, errors.connect, errors.read,
    errors.write, errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
