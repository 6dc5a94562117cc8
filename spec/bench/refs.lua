--- The reference figures of make bench: nn's work done without nn, by FANN,
-- OpenBLAS and raw SQLite, each measured by a C program in its own process
-- (spec/bench/ref_*.c, built into build/bench/ by make bench, never by make
-- or make test), and by PyTorch (spec/bench/ref_torch.py, run by the
-- system's python3, which has Debian's python3-torch).
--
--   local refs = require "spec.bench.refs"
--   local figures = refs.run()
--   figures["fann.mlp.single"]       --> { value = 73718.2, unit = "ns" }
--   print(refs.report(figures))      -- one "name value unit" line each, by name
--
-- Every figure is the median of 7 runs inside its program; see the program's
-- opening comment for what exactly it times.  Not a spec: figures, never
-- assertions.

local refs = {}

refs.dir = "build/bench"
refs.programs = { "ref_fann", "ref_blas", "ref_sqlite" }
-- Scripts, each with the interpreter that runs it.
refs.scripts = { { "spec/bench/ref_torch.py", os.getenv("BENCH_PYTHON") or "/usr/bin/python3" } }

--- Runs one program (with its interpreter, if any) and adds its figures to
-- figures.  Raises on a program that is missing, exits non-zero, or prints a
-- line that is not "name value unit".
local function run_program(path, figures, interpreter)
  local f = io.open(path, "rb")
  if not f then
    error(("%s: not found (make bench builds it)"):format(path), 0)
  end
  f:close()
  -- One thread for OpenBLAS, read when the library loads; ref_blas also
  -- asks for one and checks.  stderr joins stdout so a failure says why.
  local pipe = assert(io.popen("OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "
    .. (interpreter and interpreter .. " " or "") .. "'" .. path .. "' 2>&1", "r"))
  local out = pipe:read("a")
  local ok, how, code = pipe:close()
  if not ok then
    error(("%s failed (%s %s):\n%s"):format(path, how, tostring(code), out), 0)
  end
  for line in out:gmatch("[^\n]+") do
    local name, value, unit = line:match("^(%S+) (%S+) (%S+)$")
    if not (name and tonumber(value)) then
      error(("%s printed %q, not \"name value unit\""):format(path, line), 0)
    end
    figures[name] = { value = tonumber(value), unit = unit }
  end
end

--- Runs every reference program, one after another.
-- Returns { [name] = { value = number, unit = string }, ... }.
-- Raises on any program failing (see run_program).
function refs.run()
  local figures = {}
  for _, program in ipairs(refs.programs) do
    run_program(refs.dir .. "/" .. program, figures)
  end
  for _, script in ipairs(refs.scripts) do
    run_program(script[1], figures, script[2])
  end
  return figures
end

--- The figures as text, one "name value unit" line each, sorted by name.
function refs.report(figures)
  local names, lines = {}, {}
  for name in pairs(figures) do names[#names + 1] = name end
  table.sort(names)
  for i, name in ipairs(names) do
    lines[i] = ("%-34s %12.1f %s"):format(name, figures[name].value, figures[name].unit)
  end
  return table.concat(lines, "\n")
end

return refs
