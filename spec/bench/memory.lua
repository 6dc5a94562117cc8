--- make bench's memory (spec/bench/results.lua has the store and the rule).
--
--   lua5.4 spec/bench/memory.lua start     before the parts run: an empty
--                                          figures file, the run's id and
--                                          the machine's load
--   lua5.4 spec/bench/memory.lua finish    after them: the figures into the
--                                          store and results.sql, and each
--                                          beside the baseline run's
--
-- NN_BENCH_FIGURES names the figures file the parts append to
-- (spec/bench/figures.lua); NN_BENCH_DB the store (build/bench/results.db);
-- NN_BENCH_RESULTS the text kept in the repository (spec/bench/results.sql).

local nn = require "nn"
local figures = require "spec.bench.figures"
local results = require "spec.bench.results"

local FIGURES = assert(os.getenv("NN_BENCH_FIGURES"), "NN_BENCH_FIGURES is not set")
local DB = os.getenv("NN_BENCH_DB") or "build/bench/results.db"
local TEXT = os.getenv("NN_BENCH_RESULTS") or "spec/bench/results.sql"
-- What make bench writes besides the figures: never a reason to call the
-- tree changed.
local OUTPUTS = { "spec/bench/results.sql", "README.md" }

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>/dev/null", "r"))
  local out = p:read("*a")
  p:close()
  return out
end

--- The machine: the processor's model name and its count of cores.
local function machine()
  local info = slurp("/proc/cpuinfo") or ""
  local cores = select(2, info:gsub("\nprocessor%s*:", "")) + (info:match("^processor") and 1 or 0)
  return info:match("model name%s*:%s*([^\n]+)") or "unknown", math.max(cores, 1)
end

--- The commit (git's 7-hex name, "+" when tracked files other than make
-- bench's outputs changed) and its ancestors, HEAD first.
local function commit()
  local head = sh("git rev-parse HEAD"):match("%x+")
  if not head then return "unknown", {} end
  head = head:sub(1, 7)
  local excludes = {}
  for i, p in ipairs(OUTPUTS) do excludes[i] = "':!" .. p .. "'" end
  local dirty = sh("git status --porcelain --untracked-files=no -- . " ..
    table.concat(excludes, " ")):match("%S")
  local ancestors = {}
  for sha in sh("git rev-list --max-count=5000 HEAD"):gmatch("%x+") do
    ancestors[#ancestors + 1] = sha:sub(1, 7)
  end
  return head .. (dirty and "+" or ""), ancestors
end

local function start()
  local f = assert(io.open(FIGURES, "w"))
  local load = (slurp("/proc/loadavg") or ""):match("^(%S+)")
  -- the run's id: its start, in Unix milliseconds (os.time has seconds)
  f:write(("run\t%d\t%s\n"):format(os.time() * 1000, load or "-"))
  f:close()
end

--- The run's record: id and load from the figures file's first line.
local function run_of(text)
  local id, load = text:match("^run\t(%d+)\t(%S+)\n")
  assert(id, FIGURES .. ": no run line (make bench writes one first)")
  local cpu, cores = machine()
  local commit_id, ancestors = commit()
  return { run_id = tonumber(id), commit_id = commit_id, cpu = cpu, cores = cores,
           kernel = nn.kernel(), lua = _VERSION, load = tonumber(load),
           date = os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(tonumber(id) / 1000)) }, ancestors
end

local function percent(x) return x and ("%+.1f%%"):format(100 * x) or "-" end

--- One line a figure, nn's then the references', each beside the baseline.
local function report(run, figs, base_run, base, history)
  print(("\nmake bench's memory: run %d at %s, %s; %s, %d cores, %s"):format(run.run_id,
    run.commit_id, run.date, run.cpu, run.cores, run.kernel))
  print(base_run and ("compared with run %d at %s (%s), normalised by each figure's "
    .. "reference in its own run"):format(base_run.run_id, base_run.commit_id, base_run.date)
    or "no earlier commit measured on this machine: nothing to compare with")
  print(("\n%-28s %17s  %-24s %9s %9s %7s"):format("figure", "value", "reference",
    "norm", "change", "noise"))
  local by_name, regressions = {}, {}
  for _, f in ipairs(figs) do by_name[f.name] = f end
  for _, kind in ipairs{ "nn", "ref" } do
    for _, f in ipairs(figs) do
      if f.kind == kind then
        local j = results.judge(f, by_name, base, history)
        print(("%-28s %11.5g %-5s %-24s %9s %9s %6.1f%%%s"):format(f.name, f.value, f.unit,
          f.ref or (kind == "ref" and "(a reference)" or "-"),
          j.norm and ("%.4g"):format(j.norm) or "-", percent(j.change), 100 * j.noise,
          j.regression and "  REGRESSION" or ""))
        if j.regression then regressions[#regressions + 1] = f.name end
      end
    end
  end
  print(("\nchange: the normalised figure against run %s's, above 0 worse; a change above "
    .. "the figure's noise is a regression (%d this run%s)"):format(
    base_run and tostring(base_run.run_id) or "-", #regressions,
    #regressions > 0 and ": " .. table.concat(regressions, ", ") or ""))
end

local function finish()
  local text = assert(slurp(FIGURES), FIGURES .. ": no figures (make bench writes them)")
  local run, ancestors = run_of(text)
  local figs = figures.parse((text:gsub("^run\t[^\n]*\n", "")))
  local store = results.open(nn, DB)
  results.load_text(store, slurp(TEXT) or "")
  local runs = results.comparable_runs(store, run)
  local base_run = results.baseline(runs, ancestors, run.commit_id)
  local history = {}
  for i = 1, math.min(#runs, results.HISTORY) do
    history[i] = results.figures_of(store, runs[i].run_id)
  end
  report(run, figs, base_run, base_run and results.figures_of(store, base_run.run_id), history)
  results.record(store, run, figs)
  store:close()
  local f = assert(io.open(TEXT, "a"))
  f:write(table.concat(results.statements(run, figs), "\n"), "\n")
  f:close()
  print(("recorded as run %d in %s and %s (make bench-readme puts it in the README)")
    :format(run.run_id, DB, TEXT))
end

if arg[1] == "start" then start()
elseif arg[1] == "finish" then finish()
else error("usage: memory.lua start|finish", 0) end
