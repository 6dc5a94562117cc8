--- make bench-readme: the README's speed tables, written from the results
-- store (spec/bench/results.lua) rather than typed by hand.
--
--   lua5.4 spec/bench/readme.lua README.md [RUN_ID]
--
-- The store (NN_BENCH_DB, build/bench/results.db) is filled from the text
-- in the repository (NN_BENCH_RESULTS, spec/bench/results.sql) first; the
-- run is RUN_ID, or the latest one.  In README.md every block between
-- <!-- bench:NAME --> and <!-- /bench:NAME --> is replaced by what
-- readme.blocks.NAME renders from that run; the text around the blocks is
-- left as it is.  A table block opens with a line naming the run, its
-- commit, date and machine.  Raises on a marker without its pair, a block
-- this file does not know, and a figure the run lacks, naming it.

local readme = {}

--- "432 ns", "27.2 µs", "1.09 s": three significant figures, the unit the
-- value reads best in.
function readme.time(ns)
  if ns < 9.995 then return ("%.2f ns"):format(ns) end
  if ns < 999.5 then return ("%.0f ns"):format(ns) end
  for _, u in ipairs{ { 1e3, "µs" }, { 1e6, "ms" }, { 1e9, "s" } } do
    local v = ns / u[1]
    if v < 999.5 or u[2] == "s" then
      local digits = v < 9.995 and 2 or v < 99.95 and 1 or 0
      return ("%." .. digits .. "f %s"):format(v, u[2])
    end
  end
end

--- "2.0x", "0.23x", "12.6x", "151x"
function readme.ratio(r)
  if r >= 99.5 then return ("%.0fx"):format(r) end
  if r >= 9.95 then return ("%.1fx"):format(r) end
  return ("%.2fx"):format(r)
end

--- 941032 as "941,032"
function readme.thousands(n)
  local sign, digits = ("%d"):format(math.floor(n + 0.5)):match("^(%-?)(%d+)$")
  local grouped = digits:reverse():gsub("(%d%d%d)", "%1,"):reverse()
  return sign .. (grouped:gsub("^,", ""))
end

--- The figures of a run as a function: get(name) is the value in
-- nanoseconds for a time or a rate (a rate as the time of a row), the
-- value itself otherwise; get(name, true) is nil for a missing figure
-- instead of raising.
function readme.getter(run, figs)
  local NS = { ns = 1, us = 1e3, ms = 1e6, s = 1e9 }
  return function(name, optional)
    local f = figs[name]
    if not f then
      if optional then return nil end
      error(("run %s has no figure %s"):format(tostring(run.run_id), name), 0)
    end
    if NS[f.unit] then return f.value * NS[f.unit] end
    if f.unit == "rows/s" then return 1e9 / f.value end
    return f.value
  end
end

local function header(run)
  return readme.wrap(("_From `make bench` run %s: commit `%s`, %s, %s, %d cores, kernel set `%s` "
    .. "(`spec/bench/results.sql`; `make bench-readme` wrote this block)._"):format(
    tostring(run.run_id), run.commit_id, (run.date:gsub("T", " "):gsub("Z$", " UTC")), run.cpu,
    run.cores, run.kernel))
end

--- A markdown table row of the cells given ("| a | | b |").
local function cells(list)
  local out = { "|" }
  for _, c in ipairs(list) do out[#out + 1] = c == "" and " |" or " " .. c .. " |" end
  return table.concat(out)
end

--- A table row: nn's label and time (none under an empty label), the
-- reference's, and their ratio (reference / nn).
local function row(label, nn_ns, ref_label, ref_ns, shown_nn, shown_ref)
  return cells{ label, label == "" and "" or (shown_nn or readme.time(nn_ns)), ref_label,
                shown_ref or readme.time(ref_ns), readme.ratio(ref_ns / nn_ns) }
end

--- Prose as the README writes it: lines of at most 92 characters.
function readme.wrap(text)
  local lines, line = {}, ""
  for word in text:gmatch("%S+") do
    if line ~= "" and #line + 1 + #word > 92 then
      lines[#lines + 1] = line
      line = word
    else
      line = line == "" and word or line .. " " .. word
    end
  end
  lines[#lines + 1] = line
  return table.concat(lines, "\n")
end

local TABLE_HEAD = "| nn | nn | reference | reference | ratio |\n|---|---:|---|---:|---:|"

-- Bytes of the parameters of the MLP and of the seed's net.
local MLP_PARAMS, SEED_PARAMS = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10, 4 * 3 + 3 + 3 * 2 + 2

readme.blocks = {}

function readme.blocks.speed(run, get)
  local log, insert = get("lua.store.log"), get("sqlite.insert.txn1000")
  local rows = {
    header(run), "", TABLE_HEAD,
    row("seed 4-3-2, `net:forward(x, out)`", get("lua.seed.forward"),
      "plain Lua, written out for this net", get("lua.seed.plain")),
    row("", get("lua.seed.forward"), "plain Lua, a loop over layers", get("lua.seed.plain_layers")),
    row("", get("lua.seed.forward"), "FANN `fann_run`, from C", get("fann.seed.single")),
    row("MLP 784-256-128-10, one sample from a Lua table", get("lua.mlp.single"),
      "FANN `fann_run`", get("fann.mlp.single")),
    row("MLP 784-256-128-10, batch of 256 in an `nn.Matrix`, per row", get("lua.mlp.batch"),
      "OpenBLAS `sgemm`, 1 thread", get("blas.mlp.batch256")),
    row("game 64-64-64-8 (Tanh), one sample", get("lua.game.single"), "FANN `fann_run`",
      get("fann.game.single")),
    row("game 64-64-64-8, batch of 256, per row", get("lua.game.batch"),
      "OpenBLAS `sgemm`, 1 thread", get("blas.game.batch256")),
    row("`store:log`, WAL file, default flush policy", log,
      "raw prepared INSERT, 1000 rows a transaction", insert,
      ("%s (%.0f k rows/s)"):format(readme.time(log), 1e6 / log),
      ("%s (%.0f k rows/s)"):format(readme.time(insert), 1e6 / insert)),
    row("`nn_score` over 200,000 rows in SQL", get("sql.score"),
      "`a*0.1 - b*0.29 - c*0.07 + d*0.46 + 0.25`", get("sql.plain"),
      readme.time(get("sql.score")) .. " a row", readme.time(get("sql.plain")) .. " a row"),
  }
  return table.concat(rows, "\n")
end

--- The paragraph under the first table: memory, the floor of a call, C.
function readme.blocks.speed_notes(run, get)
  local seed, floor, plain = get("lua.seed.forward"), get("lua.seed.floor"), get("lua.seed.plain")
  local c = get("engine." .. run.kernel .. ".seed", true)
  local avx2, generic = get("engine.avx2.mlp_batch", true), get("engine.generic.mlp_batch", true)
  local beats = get("lua.store.log") < get("sqlite.insert.txn1000")
  return readme.wrap(table.concat({
    ("`forward(x, out)`, and `forward(X, Y)` with a given `Y`, allocate nothing. A network "
      .. "takes its parameters times 4 bytes plus a header: %s bytes for the MLP's %s bytes of "
      .. "weights, %s for the seed's %d."):format(readme.thousands(get("mem.mlp")),
      readme.thousands(4 * MLP_PARAMS), readme.thousands(get("mem.seed")), 4 * SEED_PARAMS),
    ("`store:log` %s the raw INSERT because it writes 32 rows a statement."):format(
      beats and "beats" or "comes near"),
    ("On the seed's network most of the %s is the Lua call itself: a C method that does "
      .. "nothing but read 4 numbers from one table and write 2 into another takes %s in the "
      .. "same run (%s plain Lua, the most any C module could show)%s."):format(readme.time(seed),
      readme.time(floor), readme.ratio(plain / floor), c and (", and the arithmetic, SoftMax's "
      .. "exponentials included, %s in C (`build/bench/engine`)"):format(readme.time(c)) or ""),
    avx2 and generic and ("The same run prints each kernel set on its own (`build/bench/engine`): "
      .. "with AVX2 the MLP batch takes %s a row, with the generic set %s."):format(readme.time(avx2),
      readme.time(generic)) or nil,
  }, " "))
end

function readme.blocks.torch(run, get)
  local batch, single = get("lua.game.batch"), get("lua.game.single")
  return table.concat({
    header(run), "", TABLE_HEAD,
    row("game 64-64-64-8 (Tanh), batch of 256 in an `nn.Matrix`, per row", batch,
      "PyTorch, 1 thread, batch of 256", get("torch.game.batch256")),
    row("", batch, "the same net with Identity for Tanh", get("lua.game_identity.batch")),
    row("game 64-64-64-8 (Tanh), one sample from a Lua table", single,
      "PyTorch, 1 thread, a 1 x 64 tensor", get("torch.game.single")),
    row("", single, "the same net with Identity for Tanh", get("lua.game_identity.single")),
    row("", single, "a C method: 64 numbers in, 8 out, nothing else", get("lua.game.floor")),
  }, "\n")
end

--- The game net in C alone, for each kernel set the run had.
function readme.blocks.engine(run, get)
  local names = { avx512 = "AVX-512", avx2 = "AVX2", generic = "the generic set" }
  local single, batch = {}, {}
  for _, set in ipairs{ "avx512", "avx2", "generic" } do
    if get("engine." .. set .. ".game", true) then
      single[#single + 1] = ("%s with %s"):format(readme.time(get("engine." .. set .. ".game")),
        names[set])
      batch[#batch + 1] = readme.time(get("engine." .. set .. ".game_batch"))
    end
  end
  local function list(t)
    return #t < 2 and (t[1] or "") or table.concat(t, ", ", 1, #t - 1) .. " and " .. t[#t]
  end
  local plain = get("engine.plain.game", true)
  return readme.wrap(("In C alone (`build/bench/engine`, same run) one sample of the game net takes %s; "
    .. "a batch row %s (the Identity net with `%s`: %s a sample, %s a batch row)%s."):format(
    list(single), list(batch), run.kernel, readme.time(get("engine." .. run.kernel .. ".identity")),
    readme.time(get("engine." .. run.kernel .. ".identity_batch")), plain and ("; written the "
    .. "simplest way in plain C, a loop a layer and libm's `tanhf`, a sample takes %s"):format(
    readme.time(plain)) or ""))
end

function readme.blocks.luajit(run, get)
  local lines = { header(run), "", "| `net:forward(x, out)` on LuaJIT | nn | plain LuaJIT | ratio |",
                  "|---|---:|---|---:|" }
  local seed = get("luajit.seed.forward")
  local function add(label, ns, ref_label, ref_ns)
    lines[#lines + 1] = cells{ label, ns and readme.time(ns) or "",
      ref_label .. ": " .. readme.time(ref_ns), readme.ratio(ref_ns / (ns or seed)) }
  end
  add("seed 4-3-2", seed, "written out for this net", get("luajit.seed.plain"))
  add("", nil, "a loop over layers", get("luajit.seed.plain_layers"))
  for _, c in ipairs{ { "w8", "8-8-8-2, Tanh" }, { "w16", "16-16-16-4, Tanh" },
                      { "w32", "32-32-32-4, Tanh" }, { "game", "64-64-64-8, Tanh" },
                      { "mlp", "784-256-128-10, ReLU" } } do
    add(c[2], get("luajit." .. c[1] .. ".forward"), "a loop over layers",
      get("luajit." .. c[1] .. ".plain"))
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = readme.wrap(("`forward(x, out)` allocates %s on LuaJIT (%s bytes in 10^6 "
    .. "calls, printed by the same run): a game can call it every frame for every agent."):format(
    get("luajit.seed.garbage") == 0 and "nothing" or "next to nothing",
    readme.thousands(get("luajit.seed.garbage"))))
  return table.concat(lines, "\n")
end

function readme.blocks.training(run, get)
  local lines = { header(run), "",
    "| epoch | nn | PyTorch | sgemm floor | nn test accuracy | PyTorch test accuracy |",
    "|---:|---:|---:|---:|---:|---:|" }
  local floor = get("train.floor.epoch")
  for e = 1, 5 do
    lines[#lines + 1] = ("| %d | %s | %s | %s | %.2f%% | %.2f%% |"):format(e,
      readme.time(get("train.nn.epoch" .. e)), readme.time(get("train.torch.epoch" .. e)),
      readme.time(floor), get("train.nn.acc" .. e), get("train.torch.acc" .. e))
  end
  local nn_s, pt_s = get("train.nn.epoch"), get("train.torch.epoch")
  lines[#lines + 1] = ""
  lines[#lines + 1] = readme.wrap(("The median epoch: nn %s, PyTorch %s (%s), the floor %s (nn "
    .. "takes %.2f times it: the rest is the activations, the loss, Adam's update and the "
    .. "packing of panels)."):format(readme.time(nn_s), readme.time(pt_s),
    readme.ratio(pt_s / nn_s), readme.time(floor), nn_s / floor))
  return table.concat(lines, "\n")
end

function readme.blocks.fann(run, get)
  local lines = { header(run), "",
    "| set | nn an epoch | libfann an epoch | ratio | nn test error | libfann test error |",
    "|---|---:|---:|---:|---:|---:|" }
  for _, set in ipairs{ "mushroom", "thyroid", "diabetes", "gene", "soybean", "building" } do
    local nn_t, f_t = get("train." .. set .. ".nn_epoch"), get("train." .. set .. ".fann_epoch")
    lines[#lines + 1] = ("| %s | %s | %s | %s | %.2f%% | %.2f%% |"):format(set,
      readme.time(nn_t), readme.time(f_t), readme.ratio(f_t / nn_t),
      get("train." .. set .. ".nn_error"), get("train." .. set .. ".fann_error"))
  end
  return table.concat(lines, "\n")
end

function readme.blocks.trainer(run, get)
  local bytes = get("train.memory")
  return readme.wrap(("A trainer for the 784-256-128-10 net, Adam, batch 64, takes %s bytes (run %s): %.1f "
    .. "times the 4 bytes a parameter (gradients and the two moments are 3 of those; the rest "
    .. "is one batch's activations and the backward passes' scratch)."):format(
    readme.thousands(bytes), tostring(run.run_id), bytes / (4 * MLP_PARAMS)))
end

--- The closing markers in s.
local function closings(s)
  local n = 0
  for _ in s:gmatch("<!%-%- /bench:[%w_]+ %-%->") do n = n + 1 end
  return n
end

--- text with every block between its markers rendered from run and figs.
-- Raises on a marker without its pair or a block readme.blocks lacks.
function readme.rewrite(text, run, figs)
  local get = readme.getter(run, figs)
  local out, pos = {}, 1
  while true do
    local s, e, name = text:find("<!%-%- bench:([%w_]+) %-%->\n", pos)
    local between = text:sub(pos, (s or #text + 1) - 1)
    -- the text since the last block holds that block's closing marker alone
    if closings(between) ~= (pos > 1 and 1 or 0) then
      error("README: a <!-- /bench:... --> without its opening marker", 0)
    end
    if not s then break end
    local close = ("<!-- /bench:%s -->"):format(name)
    local c = text:find("\n" .. close, e, true)
    if not c then error(("README: <!-- bench:%s --> without %s"):format(name, close), 0) end
    local render = readme.blocks[name]
    if not render then error(("README: no block named %s in spec/bench/readme.lua"):format(name), 0) end
    out[#out + 1] = text:sub(pos, e)
    out[#out + 1] = render(run, get)
    pos = c
  end
  out[#out + 1] = text:sub(pos)
  return table.concat(out)
end

local function main(args)
  local nn = require "nn"
  local results = require "spec.bench.results"
  local path = args[1] or "README.md"
  local store = results.open(nn, os.getenv("NN_BENCH_DB") or "build/bench/results.db")
  local f = io.open(os.getenv("NN_BENCH_RESULTS") or "spec/bench/results.sql", "rb")
  if f then results.load_text(store, f:read("*a")); f:close() end
  local run = args[2] and store:rows("SELECT * FROM bench_run WHERE run_id = ?", tonumber(args[2]))()
    or store:rows("SELECT * FROM bench_run ORDER BY run_id DESC LIMIT 1")()
  if not run then error("make bench-readme: no such run in the results store", 0) end
  local figs = results.figures_of(store, run.run_id)
  store:close()
  f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  local new = readme.rewrite(text, run, figs)
  f = assert(io.open(path, "wb"))
  f:write(new)
  f:close()
  print(("%s: speed tables from run %s (commit %s, %s)"):format(path, tostring(run.run_id),
    run.commit_id, run.date))
end

-- run as a script, not required as a module (the spec requires it)
if (...) ~= "spec.bench.readme" then main(arg) end

return readme
