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
