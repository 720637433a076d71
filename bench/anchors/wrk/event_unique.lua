-- POST the seed's 'answered' inbound event (tests/fixtures/seed_call.json) to /voice/event with a
-- fresh uuid and timestamp per request, so vcall's dedupe (timestamp + uuid + status) never
-- flatters the figures. The uuid starts with 64 random bits, as Vonage's are random (a store's
-- index pays for that); run, thread and counter make it unique. Timestamps grow, as Vonage's do.
-- `tid` and `sent` come from bench/count.lua; $BENCH_RUN tells one wrk run from the next.
local run = tonumber(os.getenv("BENCH_RUN") or "0")
local counter, start, second, stamp = 0, os.time(), -1, ""

function init(args)
  math.randomseed(run * 1000 + tid)
end

request = function()
  counter = counter + 1
  sent = sent + 1
  local uuid = string.format("%08x%08x%04x%04x%08x", math.random(0, 0x7fffffff),
    math.random(0, 0x7fffffff), run % 0x10000, tid or 0, counter)
  if math.floor(counter / 1000) ~= second then  -- one millisecond per event, from the start time
    second = math.floor(counter / 1000)
    stamp = os.date("!%Y-%m-%dT%H:%M:%S", start + second)
  end
  local ts = string.format("%s.%03dZ", stamp, counter % 1000)
  local body = '{"start_time":null,"headers":{},"rate":null,"from":"441234567890","to":"442038297050","uuid":"'
    .. uuid .. '","conversation_uuid":"CON-8f5a100c-fbce-4218-8d4b-16341335bcd6","status":"answered",'
    .. '"direction":"inbound","network":null,"timestamp":"' .. ts .. '"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
