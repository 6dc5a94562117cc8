-- nn.import on mutated ONNX and FANN files (spec/support/mutate.lua): bit
-- flips, truncations, huge sizes and counts.  Every case must end in a
-- clean error or in a network that passes the checks of one built by hand;
-- a crash or a hang stops the run.  NN_FUZZ_CASES sets the cases per seed
-- file: 2000 by default (10,000 cases in make test), a sample of 400 in make
-- memcheck (MEMCHECK_FUZZ_CASES).

local nn = require "nn"
local mutate = require "spec.support.mutate"

local CASES = tonumber(os.getenv("NN_FUZZ_CASES")) or 2000

describe("nn.import of mutated files", function()
  for k, seed in ipairs(mutate.SEEDS) do
    it(("ends every case cleanly: %d mutations of %s"):format(CASES, seed.path), function()
      local bytes = mutate.read(seed.path)
      local gen = mutate.new(1000 + k)
      local seen = { refused = 0, imported = 0 }
      -- the seed itself imports
      assert.equal("imported", mutate.check_import(nn, bytes, seed.format))
      for _ = 1, CASES do
        local case, how = gen(bytes, seed.format)
        local ok, verdict = pcall(mutate.check_import, nn, case, seed.format)
        assert(ok, ("%s: %s"):format(how, verdict))
        seen[verdict] = seen[verdict] + 1
      end
      -- both outcomes happen: the mutations reach past the first check
      assert.is_true(seen.refused > 0 and seen.imported > 0,
        ("%d refused, %d imported"):format(seen.refused, seen.imported))
    end)
  end
end)

describe("hostile inputs (issue 24)", function()
  it(("refuses every one, naming the file: %d graphs ONNX forbids, files claiming far more "
    .. "than they hold, fields and inputs without end"):format(math.floor(CASES / 4)), function()
    local gen = mutate.hostile(2024)
    local path = os.tmpname()
    local seen = {}
    for _ = 1, math.floor(CASES / 4) do
      local kind, bytes, how = gen()
      local ok, err = pcall(mutate.refuse_hostile, nn, kind, bytes, path)
      assert(ok, ("%s (%s): %s"):format(kind, how, err))
      seen[kind] = (seen[kind] or 0) + 1
    end
    os.remove(path)
    for _, kind in ipairs{ "onnx", "idx", "fann", "csv", "endless" } do
      assert.is_true((seen[kind] or 0) > 0, kind)
    end
  end)
end)
