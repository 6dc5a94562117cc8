--- Fuzzer: mutated import files (see spec/fuzz/run.lua), for every format
-- in FORMATS below.  A format is
--   { name = "onnx",
--     seeds = { "spec/fixtures/linear.onnx", ... },   -- valid files
--     import = [[ local nn = require "nn"
--                 return function(bytes) return nn.import(bytes, { format = "onnx" }) end ]] }
-- import is Lua source returning the import function, because it runs in
-- the child (import_child.lua), never in the fuzzer's own process.
--
-- Each case takes a seed file, changes it one to four times with
-- common.lua's byte mutations (bit flips, cuts, interesting bytes, copied
-- stretches, junk, numbers made huge or odd) and imports it.  It must end in
-- a clean error, or in a network that passes the checks of a network built
-- by hand (import_child.lua); a crash, a hang or anything else fails.
-- FUZZ_WRAP="valgrind -q --error-exitcode=99" FUZZ_TIMEOUT=120 runs a sample
-- under valgrind.

local F = require "spec.fuzz.common"

local M = {}

--- The formats fuzzed by `make fuzz`, seeded with the valid files the
-- import spec starts from (spec/support/mutate.lua): PyTorch's ONNX exports
-- and libfann's own .net files.
M.FORMATS = {}
for _, name in ipairs{ "onnx", "fann" } do
  local seeds = {}
  for _, seed in ipairs(require("spec.support.mutate").SEEDS) do
    if seed.format == name then seeds[#seeds + 1] = seed.path end
  end
  M.FORMATS[#M.FORMATS + 1] = {
    name = name, seeds = seeds,
    import = ([[local nn = require "nn"
      return function(bytes) return nn.import(bytes, { format = %q }) end]]):format(name),
  }
end

--- Fuzz one format: n cases from case from, counted in tally t.
-- seeds: paths of valid files; import: Lua source returning function(bytes).
function M.fuzz(t, n, from, seeds, import, name)
  local s = F.settings
  name = name or "import"
  local valid = {}
  for i, path in ipairs(seeds) do valid[i] = assert(F.read(path), "cannot read " .. path) end
  assert(#valid > 0, "no seed files")
  local code = ("%s/%s-import.lua"):format(s.dir, name)
  F.write(code, import)
  local path = ("%s/%s-case.bin"):format(s.dir, name)
  for i = from, from + n - 1 do
    math.randomseed(F.case_seed(name, i))
    local bytes, what = F.pick(valid), {}
    for j = 1, F.int(1, 4) do bytes, what[j] = F.mutate_bytes(bytes) end
    F.write(path, bytes)
    local how, c, text = F.run(("%s spec/fuzz/import_child.lua %s %s"):format(s.lua,
      F.shell_quote(path), F.shell_quote(code)))
    t.judge(i, how, c, text, { bin = bytes, txt = table.concat(what, "\n") })
  end
end

--- Hostile inputs (spec/support/mutate.lua's hostile): graphs ONNX
-- forbids (names defined twice, cycles, fields given twice, huge declared
-- sizes) and data files claiming far more than they hold or never ending.
-- Each must be refused with a message naming the file; one taken is BAD.
local HOSTILE = [[local nn = require "nn"
  local mutate = require "spec.support.mutate"
  return function(bytes)
    local kind, body = bytes:match("^(%a+)\n(.*)$")
    local path = os.tmpname()
    local ok, err = pcall(mutate.refuse_hostile, nn, kind, body, path)
    os.remove(path)
    if ok then error(err, 0) end
    return "hostile input taken: " .. tostring(err)
  end]]

function M.hostile(t, n, from)
  local s = F.settings
  local code = ("%s/hostile-import.lua"):format(s.dir)
  local path = ("%s/hostile-case.bin"):format(s.dir)
  F.write(code, HOSTILE)
  for i = from, from + n - 1 do
    local kind, bytes, how = require("spec.support.mutate").hostile(F.case_seed("hostile", i))()
    F.write(path, kind .. "\n" .. bytes)
    local verdict, c, text = F.run(("%s spec/fuzz/import_child.lua %s %s"):format(s.lua,
      F.shell_quote(path), F.shell_quote(code)))
    t.judge(i, verdict, c, text, { bin = kind .. "\n" .. bytes, txt = how })
  end
end

return setmetatable(M, { __call = function(_, t, n, from)
  if #M.FORMATS == 0 then
    t.notes[#t.notes + 1] = "no import formats yet (spec/fuzz/import.lua, FORMATS)"
  end
  for _, format in ipairs(M.FORMATS) do
    M.fuzz(t, n, from, format.seeds, format.import, format.name)
  end
  M.hostile(t, n, from)
end })
