--- The figures of one make bench run, as each part of it measures them:
-- every part (spec/bench/run.lua, sql.lua, luajit.lua, train.lua, and the
-- C program engine.c, which writes the same lines itself) appends one line
-- a figure to the file NN_BENCH_FIGURES names, and spec/bench/memory.lua
-- reads them all at the end into the results store.  Without
-- NN_BENCH_FIGURES nothing is written: a part run by hand prints its tables
-- as before.  Lua 5.1 to 5.4 and LuaJIT.
--
--   local figures = require "spec.bench.figures"
--   figures.add("lua.seed.forward", 150.2, "ns", "lua.seed.plain", 0.03)
--   figures.reference("lua.seed.plain", 700.1, "ns", 0.01)
--
-- A line: kind, name, value, unit, reference (or "-"), spread (or "-"),
-- separated by tabs.  kind is "nn" for what nn does and "ref" for the same
-- work done without nn; an nn figure names the reference of the same run
-- that the results store divides it by, so that a busier machine, which
-- slows both, does not read as a change.  spread is the range of the
-- middle repetitions over their median (plain.median_ns), when known.

local figures = {}

local function write(kind, name, value, unit, ref, spread)
  local path = os.getenv("NN_BENCH_FIGURES")
  if not path or path == "" then return end
  assert(not name:find("%s"), "a figure's name has no spaces: " .. name)
  local f = assert(io.open(path, "a"))
  f:write(("%s\t%s\t%.9g\t%s\t%s\t%s\n"):format(kind, name, value, unit, ref or "-",
    spread and ("%.4g"):format(spread) or "-"))
  f:close()
end

--- An nn figure, normalised by the reference figure ref of the same run
-- (nil: compared as it is, e.g. bytes).
function figures.add(name, value, unit, ref, spread)
  write("nn", name, value, unit, ref, spread)
end

--- A reference figure: the same work without nn, or the machine's speed.
function figures.reference(name, value, unit, spread)
  write("ref", name, value, unit, nil, spread)
end

--- Parses the lines of a figures file: a list of
-- { kind, name, value, unit, ref, spread }.  Raises on a malformed line.
function figures.parse(text)
  local list = {}
  for line in text:gmatch("[^\n]+") do
    local kind, name, value, unit, ref, spread =
      line:match("^(%a+)\t(%S+)\t(%S+)\t(%S+)\t(%S+)\t(%S+)$")
    if not (kind and tonumber(value)) then error("not a figure: " .. line, 0) end
    list[#list + 1] = { kind = kind, name = name, value = tonumber(value), unit = unit,
                        ref = ref ~= "-" and ref or nil, spread = tonumber(spread) }
  end
  return list
end

return figures
