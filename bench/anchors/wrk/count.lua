-- Prepended by bench/webhooks.py to every wrk script. Numbers the threads (`tid`), counts the
-- requests sent and answered and the 2xx among them, and keeps the event ids vcall acknowledged,
-- written one per line to $BENCH_IDS, so the data check can look each one up in the store.
ok, sent, answered = 0, 0, 0
acked = {}
local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

function response(status, headers, body)
  answered = answered + 1
  if status >= 200 and status < 300 then
    ok = ok + 1
    local id = body and body:match('"id":(%d+)')
    if id then acked[#acked + 1] = id end
  end
end

function done(summary, latency, requests)
  local total = {ok = 0, sent = 0, answered = 0}
  local path = os.getenv("BENCH_IDS")
  local out = path and io.open(path, "w")
  for _, t in ipairs(threads) do
    for name in pairs(total) do total[name] = total[name] + t:get(name) end
    if out then
      for _, id in ipairs(t:get("acked")) do out:write(id, "\n") end
    end
  end
  if out then out:close() end
  io.write(string.format("BENCH ok=%d sent=%d answered=%d\n", total.ok, total.sent, total.answered))
end
