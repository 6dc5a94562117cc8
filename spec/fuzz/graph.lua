--- Fuzzer: random graphs (nn.Graph of Linear, every element-wise kind, Add
-- and Concat, each node reading any before it), each in a child Lua process
-- (spec/fuzz/graph_child.lua; see spec/fuzz/run.lua), checked against a
-- double-precision computation of the same graph.  A failure is a crash, a
-- hang, an end before the last line, or an output past the tolerance (BAD).

local F = require "spec.fuzz.common"

return function(t, n, from)
  local s = F.settings
  for i = from, from + n - 1 do
    local case_seed = F.case_seed("graph", i)
    local how, code, text = F.run(("%s spec/fuzz/graph_child.lua %d"):format(s.lua, case_seed))
    t.judge(i, how, code, text, { txt = ("%s spec/fuzz/graph_child.lua %d\n\n%s")
      :format(s.lua, case_seed, text) })
  end
end
