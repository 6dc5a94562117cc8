-- The engine's pool of threads from C alone (src/engine/nn_pool.c), through
-- spec/support/pool_check.c: host threads sharing one pool, and turns in
-- order.  Apart from spec/threads_spec.lua because it compiles a program,
-- which make tsan's preloaded runtime would enter too.

describe("the engine's pool from C", function()
  local c = require "spec.support.c"

  it("serves host threads that share it: every batch has the bits of one thread, turns keep their order", function()
    local exe = c.compile("spec/support/pool_check.c " .. c.ENGINE, "-lm -pthread")
    local out = c.run(exe)
    os.remove(exe)
    assert.equal("ok 800\n", out)
  end)

  it("backs off after a call that waited for a stalled thread, then takes the thread back", function()
    local exe = c.compile("spec/support/pool_check.c " .. c.ENGINE, "-lm -pthread")
    local out = c.run(exe .. " backoff")
    os.remove(exe)
    assert.equal("ok backoff\n", out)
  end)
end)
