-- POST the seed's 'answered' inbound event to /voice/event with a fresh uuid and timestamp per
-- request, so vcall's dedupe (uuid + status + timestamp) never flatters the figures.
-- `tid` (this thread's number) is set by the counting prelude in bench/webhooks.py.
local counter = 0

request = function()
  counter = counter + 1
  local uuid = string.format("%08x%024x", tid or 0, counter)
  local ts = string.format("2021-03-29T21:20:%02d.%03dZ", math.floor(counter / 1000) % 60, counter % 1000)
  local body = '{"start_time":null,"headers":{},"rate":null,"from":"441234567890","to":"442038297050","uuid":"'
    .. uuid .. '","conversation_uuid":"CON-8f5a100c-fbce-4218-8d4b-16341335bcd6","status":"answered",'
    .. '"direction":"inbound","network":null,"timestamp":"' .. ts .. '"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
