-- POST the seed's 'answered' inbound event (shared/anchors/load/event.lua) to /voice/event with a
-- fresh uuid and timestamp per request, so vcall's dedupe (uuid + status + timestamp) never
-- flatters the figures. `tid` and `sent` come from bench/count.lua; $BENCH_RUN tells one wrk run
-- from the next, so a later run never repeats an earlier run's events.
local run = tonumber(os.getenv("BENCH_RUN") or "0")
local counter = 0

request = function()
  counter = counter + 1
  sent = sent + 1
  local uuid = string.format("%08x%04x%020x", run, tid or 0, counter)
  local ts = string.format("2021-03-29T21:%02d:%02d.%03dZ",
    math.floor(counter / 60000) % 60, math.floor(counter / 1000) % 60, counter % 1000)
  local body = '{"start_time":null,"headers":{},"rate":null,"from":"441234567890","to":"442038297050","uuid":"'
    .. uuid .. '","conversation_uuid":"CON-8f5a100c-fbce-4218-8d4b-16341335bcd6","status":"answered",'
    .. '"direction":"inbound","network":null,"timestamp":"' .. ts .. '"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
