--- Fuzzer: random programs of Lua API calls with random arguments, each in
-- a child Lua process (spec/fuzz/api_child.lua; see spec/fuzz/run.lua).
-- A failure is a crash, a hang, or any end of the child other than its
-- last line: every call runs in pcall, so a Lua error is a clean error.

local F = require "spec.fuzz.common"
local db = require "spec.fuzz.db"

return function(t, n, from)
  local s = F.settings
  local valid_path = s.dir .. "/api-valid.db"
  db.make_valid(valid_path)
  local valid = F.read(valid_path)
  local path = s.dir .. "/api-case.db"
  for i = from, from + n - 1 do
    local case_seed = F.case_seed("api", i)
    math.randomseed(case_seed)
    local steps = F.int(5, 60)
    F.remove_db(path)
    os.execute("rm -f " .. F.shell_quote(path) .. "-*")
    F.write(path, valid)
    local how, code, text = F.run(("%s spec/fuzz/api_child.lua %d %d %s"):format(s.lua,
      case_seed, steps, F.shell_quote(path)))
    t.judge(i, how, code, text, { txt = ("%s spec/fuzz/api_child.lua %d %d FILE\n\n%s")
      :format(s.lua, case_seed, steps, text) })
  end
  F.remove_db(path)
  os.execute("rm -f " .. F.shell_quote(path) .. "-*")
end
