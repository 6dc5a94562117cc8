--- make fuzz: runs the seeded fuzzers of spec/fuzz/ and exits non-zero
-- when any case crashed, hung, or had a changed fact accepted silently.
--
--   make fuzz                               every fuzzer, FUZZ_N cases each
--   make fuzz FUZZ_SEED=7 FUZZ_N=5000       a longer run, another seed
--   make fuzz FUZZ_ONLY=db FUZZ_FROM=42 FUZZ_N=1   replay case 42 of db
--
-- The fuzzers (each a file here returning function(tally, n, from)):
--   db      mutated store files through nn.open, load, history, classify, SQL
--   bytes   the same through nn.open_bytes (the images of those files)
--   sql     random nn_classify, nn_score and nn_forward calls in the sqlite3
--           shell with the extension loaded
--   api     random programs of Lua API calls with random arguments
--   import  mutated import files, for each format listed in imports.lua
--   graph   random graphs of every kind and the joins, against a double
--           reference
-- Settings: spec/fuzz/common.lua.  Not a spec: `make test` never runs it.

local F = require "spec.fuzz.common"

local FUZZERS = { "db", "bytes", "sql", "api", "import", "graph" }

local s = F.settings
local wanted = {}
for name in (s.only or table.concat(FUZZERS, ",")):gmatch("[^,%s]+") do
  wanted[name] = true
end

os.execute("mkdir -p " .. F.shell_quote(s.dir))
print(("fuzz: seed %d, cases %d to %d, %g s a case%s"):format(s.seed, s.from,
  s.from + s.n - 1, s.timeout, s.wrap ~= "" and (", under " .. s.wrap) or ""))

local failures = 0
for _, name in ipairs(FUZZERS) do
  if wanted[name] then
    wanted[name] = nil
    local t = F.tally(name)
    local started = os.time()
    require("spec.fuzz." .. name)(t, s.n, s.from)
    t.report(os.time() - started)
    io.stdout:flush()
    failures = failures + t.failures
  end
end
for name in pairs(wanted) do
  io.stderr:write("fuzz: no fuzzer named '", name, "' (", table.concat(FUZZERS, ", "), ")\n")
  failures = failures + 1
end

print(failures == 0 and "fuzz: no failures" or ("fuzz: %d failures"):format(failures))
os.exit(failures == 0 and 0 or 1)
