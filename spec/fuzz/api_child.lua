--- One case of the api fuzzer (spec/fuzz/api.lua), in a child process:
--   lua5.4 spec/fuzz/api_child.lua SEED STEPS FILE
-- runs STEPS random calls of the Lua API, drawn from SEED, each in pcall,
-- on values it keeps in eight slots: networks, matrices, stores on FILE (a
-- copy of a valid store) and their row iterators, and whatever the calls
-- return.  Arguments are drawn from odd values: wrong types, NaN, huge
-- sizes, tables whose metamethods raise or collect garbage (so finalizers
-- that close stores or grow networks run in the middle of a call).  Each
-- step is printed before it runs, so a crash names it; then ERR (a Lua
-- error) or OK; then DONE.
--
-- After each step it checks what nn promises whatever the arguments (issue
-- 24): no network in a slot or trained by a trainer holds a weight that is
-- not finite; a label is never given for an output that is not finite; a
-- trainer is never made with an option its optimizer does not use; a
-- cross-entropy loss is never taken of targets that are not a
-- distribution.  A broken promise prints INVARIANT and exits with 3.

local nn = require "nn"

local seed, steps, file = tonumber(arg[1]), tonumber(arg[2]), arg[3]
math.randomseed(seed)
io.stdout:setvbuf("line")

local function int(lo, hi) return math.random(lo, hi) end
-- t.n, where given, counts the places a nil may hold (# of such a table may be 0)
local function pick(t) return t[int(1, t.n or #t)] end

local V = {}        -- the slots
local SLOTS = 8

-- Finalizers that use the slots from inside whatever call collects them.
local function finalizer()
  local k = int(1, SLOTS)
  local what = pick{ "close", "add", "forward", "log", "fold" }
  return setmetatable({}, { __gc = function()
    local v = V[k]
    pcall(function()
      if what == "close" then v:close()
      elseif what == "add" then v:add(nn.ReLU())
      elseif what == "forward" then v:forward{ 1, 2, 3, 4 }
      elseif what == "log" then v:log(V[1], { 1, 2, 3, 4 }, { 0.5, 0.5 })
      else V[k] = v:fold() end
    end)
  end })
end

local function random_numbers(n)
  local t = {}
  for i = 1, n do t[i] = pick{ 0, 1, -1, 0.5, 32, 107, 56, 11.2, 1e30, -2.5, int(-9, 9) } end
  return t
end

-- The values an argument is drawn from, each made fresh when drawn.
local VALUES = {
  function() return nil end, function() return true end, function() return false end,
  function() return 0 end, function() return 1 end, function() return 2 end,
  function() return 3 end, function() return 4 end, function() return 5 end,
  function() return -1 end, function() return 0.5 end, function() return 1.5 end,
  function() return 1e308 end, function() return 1 / 0 end, function() return -1 / 0 end,
  function() return 0 / 0 end, function() return 2 ^ 24 end, function() return 2 ^ 24 + 1 end,
  function() return 2 ^ 31 end, function() return 2 ^ 53 end, function() return math.maxinteger end,
  function() return math.mininteger end, function() return 3.0 end, function() return "4" end,
  function() return "x" end, function() return "" end, function() return "a\0b" end,
  function() return string.rep("n", 70000) end,
  function() return "leaf_flower" end, function() return "wide" end,
  function() return "default" end, function() return "weather" end,
  function() return "leaf" end, function() return "flower" end,
  function() return "leaf_flower@1" end,
  function() return "SELECT * FROM nn_model" end, function() return "SELECT ?, ?" end,
  function() return "SELECT nn_classify('leaf_flower', 32, 107, 56, 11.2)" end,
  function() return "DROP TABLE nn_feedback" end, function() return "BEGIN" end,
  function() return "COMMIT" end, function() return "PRAGMA journal_mode = DELETE" end,
  function() return "SELECT * FROM nn_prediction" end, function() return "SELECT" end,
  function() return {} end, function() return { 1, 2, 3, 4 } end,
  function() return { 32, 107, 56, 11.2 } end, function() return { 0.5, -1, 2 } end,
  function() return { 1, 2 } end, function() return { 1, "a", 3, 4 } end,
  function() return { 1, nil, 3, 4 } end, function() return { { 1, 2 }, { 3, 4 } } end,
  function() return { { 1, 2, 3, 4 }, { 5, 6, 7, 8 } } end,
  function() return { { 1, 2, 3 }, { 4, 5, 6 } } end,
  function() return random_numbers(int(0, 10)) end,
  function() return { random_numbers(4), random_numbers(4), random_numbers(3) } end,
  function() return { "leaf", "flower" } end, function() return { "", "x" } end,
  function() return { "a\0b", "c" } end, function() return { "a", "b", "c" } end,
  function() return { 1, 2 } end,
  function() return { note = "n", labels = { "leaf", "flower" } } end,
  function() return { labels = "weather", request_id = "r", tags = { a = "b" } } end,
  function() return { labels = "nope", tags = { 1, 2 } } end,
  function() return { request_id = string.rep("r", 70000), tags = { [true] = 1 } } end,
  function() return { flush_rows = 1 } end, function() return { sync = true } end,
  function() return { flush_rows = 0, busy_timeout = -1 } end, function() return { bogus = 1 } end,
  function() return { nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2) } end,
  function() return { nn.Linear(2, 2), "x" } end,
  function() return setmetatable({}, { __len = function() return 1e9 end }) end,
  function() return setmetatable({}, { __len = function() return -1 end }) end,
  function() return setmetatable({ 1, 2, 3, 4 }, { __index = function() error("boom") end }) end,
  function() return setmetatable({}, { __index = function(_, k) collectgarbage() return k end,
    __len = function() return 4 end }) end,
  function() return setmetatable({}, { __index = function(_, k)
    V[int(1, SLOTS)] = nil; collectgarbage(); return k end, __len = function() return 4 end }) end,
  finalizer, finalizer,
  function() return print end, function() return coroutine.create(print) end,
  function() return io.stdout end,
  function() return V[int(1, SLOTS)] end, function() return V[int(1, SLOTS)] end,
  function() return V[int(1, SLOTS)] end, function() return V[int(1, SLOTS)] end,
}

local function value() return pick(VALUES)() end

local function describe(v)
  local t = type(v)
  if t == "string" then return #v > 20 and ("string(%d)"):format(#v) or ("%q"):format(v) end
  if t == "table" then return getmetatable(v) and "table+mt" or ("table(%d)"):format(#v) end
  if t == "userdata" then
    local mt = getmetatable(v)
    return mt and mt.__name or "userdata"
  end
  return tostring(v)
end

-- every kind of the engine's table, then the other functions
local CONSTRUCTORS = { "Sequential", "Matrix", "seed", "kernel", "open", "Trainer", "Trainer",
  "Trainer", "CrossEntropyCriterion" }
for _, kind in ipairs(nn.kinds) do CONSTRUCTORS[#CONSTRUCTORS + 1] = kind end

-- Which options each optimizer uses (the others must be refused).
local USES = {
  sgd = { lr = true, momentum = true, nesterov = true, weight_decay = true, clip = true,
          batch = true, shuffle = true },
  adam = { lr = true, beta1 = true, beta2 = true, eps = true, weight_decay = true,
           clip = true, batch = true, shuffle = true },
  rprop = {},
}
local COMMON = { loss = true, optimizer = true, seed = true }

-- Options for nn.Trainer: an optimizer and a few of every option, often
-- huge rates that overflow the weights.
local function trainer_options()
  local o = { optimizer = pick{ "sgd", "adam", "rprop", "sgd", "adam", "rprop", nil, "lbfgs" } }
  local choices = {
    lr = { 1e30, 1e10, 0.1, 1e-3, 0, -1 }, momentum = { 0.5, 0.9, 1 }, nesterov = { false },
    beta1 = { 0.9, 0 }, beta2 = { 0.999 }, eps = { 1e-8, 1e-38 }, weight_decay = { 0, 0.1, 1e30 },
    clip = { 1, 1e-3 }, batch = { 1, 2, 8 }, shuffle = { true, false }, seed = { 1, 7 },
    loss = { "mse", "cross_entropy", "bce" },
  }
  local uses = USES[o.optimizer or "adam"] or {}
  local names = {}
  for k in pairs(choices) do names[#names + 1] = k end
  table.sort(names)
  -- mostly the options the optimizer uses; now and then one it does not
  for _, k in ipairs(names) do
    if (uses[k] or COMMON[k]) and int(1, 3) == 1 then o[k] = pick(choices[k]) end
  end
  if int(1, 4) == 1 then local k = pick(names); o[k] = pick(choices[k]) end
  return o
end

local NET_OF = setmetatable({}, { __mode = "k" })   -- trainer -> its network

local function invariant(what)
  print("INVARIANT " .. what)
  os.exit(3)
end

local function finite(v) return type(v) == "number" and v == v and v > -math.huge and v < math.huge end

local function kind(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__name
end

-- The first weight of net that is not finite, or nil (small nets only:
-- reading a big one is slow).
local function bad_weight(net)
  if kind(net) ~= "nn.Network" or net:n_params() > 100000 then return nil end
  local P = net:get_params()
  for i = 1, P:cols() do
    if not finite(P:get(1, i)) then return i end
  end
end

-- Whether a table of targets is a distribution (cross-entropy's rule).
local function distribution(t)
  if type(t) ~= "table" or getmetatable(t) then return true end   -- not ours to judge
  local sum = 0
  for _, v in ipairs(t) do
    if type(v) ~= "number" then return true end
    if v < 0 then return false end
    sum = sum + v
  end
  return math.abs(sum - 1) <= 1e-4 + 1e-6
end

-- The promises, after a call of name (ok, its first two results r and r2,
-- arguments a); trained: the network a trainer's method trained, whose
-- weights were finite before the call.
local function check(name, ok, r, r2, a, trained)
  if name == "nn.Trainer" and ok then
    NET_OF[r] = a[1]
    local o = type(a[2]) == "table" and a[2] or {}
    local uses = USES[rawget(o, "optimizer") or "adam"] or {}
    for k in pairs(o) do
      if not uses[k] and not COMMON[k] then invariant("a trainer took " .. tostring(k)) end
    end
  elseif name == "classify" and ok then
    if type(r2) == "number" and not finite(r2) then invariant("a label for " .. r2) end
    if type(r2) == "table" then
      for _, v in ipairs(r2) do if not finite(v) then invariant("a label for " .. v) end end
    end
  elseif name == "crit:forward" and ok and type(a[1]) == "table" and type(a[3]) == "table"
         and not distribution(a[3]) then
    invariant("a cross-entropy loss of targets that are no distribution")
  end
  if trained and bad_weight(trained) then
    invariant(name .. " left parameter " .. bad_weight(trained) .. " not finite")
  end
end

-- Plausible arguments, by kind: most calls get these, some anything at all.
local function net() return pick{ n = 3, V[1], V[4], V[int(1, SLOTS)] } end
local PLAUSIBLE = {
  x = function() return pick{ { 32, 107, 56, 11.2 }, random_numbers(4), random_numbers(3),
    V[3], nn.Matrix(int(0, 3), 4), random_numbers(2100), nn.Matrix(int(1, 200), pick{ 3, 4, 2100 }),
    setmetatable(random_numbers(4), { __index = function() collectgarbage() end }) } end,
  y = function() return pick{ { 0.5, 0.5 }, random_numbers(2), { 0 / 0, 1 } } end,
  i = function() return int(-1, 5) end,
  name = function() return pick{ "leaf_flower", "wide", "new", "leaf_flower@1" } end,
  map = function() return pick{ "default", "weather", "other" } end,
  labels = function() return pick{ { "leaf", "flower" }, { "a", "b", "c" }, { "yes", "no" } } end,
  net = net,
  sql = function() return pick{ "SELECT * FROM nn_predictions", "SELECT ?, ?",
    "SELECT nn_forward('leaf_flower', input) FROM nn_prediction", "BEGIN", "COMMIT",
    "SELECT * FROM nn_accuracy", "DELETE FROM nn_prediction" } end,
  id = function() return int(-1, 12) end,
  -- training rows and targets, often with numbers that overflow a step
  X = function() return pick{ { { 1e18, 1, 2, 3 }, { 2e18, 0, 0, 1 } }, { { 1, 2, 3, 4 } },
    nn.Matrix{ { 1, 2, 3, 4 }, { 1e30, 0, 0, 0 } }, { { 1, 2 } }, V[3], random_numbers(4) } end,
  T = function() return pick{ { 1, 2 }, { 1 }, { "leaf", "flower" },
    nn.Matrix{ { 0.5, 0.5 }, { 1, 0 } }, nn.Matrix{ { 5, -3 }, { 1, 0 } },
    nn.Matrix{ { 0.5, 0.6 }, { 0, 1 } }, nn.Matrix{ { 1e30 }, { 0 } }, { 0 / 0 } } end,
  fit = function() return pick{ nil, { epochs = int(1, 4) }, { epochs = 2, patience = 1 },
    { validation_split = 0.5 } } end,
  max_ops = function() return pick{ nil, {}, { max_ops = 0 }, { max_ops = 1e3 },
    { max_ops = -1 }, { max_ops = 0 / 0 }, { bogus = 1 } } end,
  opts = function() return pick{ nil, { labels = "weather" }, { request_id = "r", tags = { a = 1 } },
    { note = "n" } } end,
}
local METHODS = {
  ["nn.Network"] = { forward = { "x", "x" }, classify = { "x", "labels" }, trace = { "x" },
    set_weights = { "i", "x", "x" }, get_weights = { "i" }, set_labels = { "labels" },
    labels = {}, add = { "net" }, clone = {}, fold = { "max_ops" }, n_inputs = {},
    n_outputs = {}, n_params = {} },
  ["nn.Trainer"] = { step = { "X", "T" }, fit = { "X", "T", "fit" }, evaluate = { "X", "T" } },
  ["nn.Store"] = { save = { "name", "net", "opts" }, load = { "name", "i" },
    history = { "name", "i" },
    add_labels = { "name", "map", "labels" }, classify = { "name", "x", "opts" },
    log = { "net", "x", "y", "opts" }, feedback = { "id", "map" }, rows = { "sql", "i" },
    flush = {}, close = {} },
  ["nn.Matrix"] = { rows = {}, cols = {}, get = { "i", "i" }, set = { "i", "i", "i" },
    row = { "i" }, set_row = { "i", "x" }, to_table = {} },
}

-- A method of one type called on a value of any other type too.
local function method_of(name)
  for _, tname in ipairs{ "nn.Network", "nn.Store", "nn.Matrix", "nn.Trainer" } do
    local mt = debug.getregistry()[tname]
    local index = mt and mt.__index
    if type(index) == "table" and index[name] then return index[name] end
  end
end

-- A method for self (one of its type's, mostly) and its arguments.
local function method_call(self)
  local mt = getmetatable(self)
  local tname = type(mt) == "table" and mt.__name
  local own = METHODS[tname]
  if own == nil or int(1, 10) == 1 then
    own = METHODS[pick{ "nn.Network", "nn.Store", "nn.Matrix", "nn.Trainer" }]
  end
  local names = {}
  for name in pairs(own) do names[#names + 1] = name end
  table.sort(names)
  local name = pick(names)
  local a, n = { self }, 1
  for _, kind in ipairs(own[name]) do
    n = n + 1
    if int(1, 5) == 1 then a[n] = value() else a[n] = PLAUSIBLE[kind]() end
  end
  if int(1, 6) == 1 then n = n + 1; a[n] = value() end
  return method_of(name), a, n, name
end

local function args(n)
  local t = {}
  for i = 1, n do t[i] = value() end
  return t, n
end

local function huge(v)
  local mt = getmetatable(v)
  local name = type(mt) == "table" and mt.__name
  if name == "nn.Network" then return v:n_params() > 1e6 end
  if name == "nn.Matrix" then return v:rows() * v:cols() > 1e6 end
  return false
end

-- A fresh network trained with random options on rows that often overflow
-- a step: whatever happens, its weights stay finite (checked by the caller),
-- and a trainer made is one whose options its optimizer all uses.
local function train_case()
  local net = pick{
    function() return nn.Sequential{ nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.SoftMax() } end,
    function() return nn.Sequential{ nn.Linear(4, 2) } end,
    function() return nn.Sequential{ nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2), nn.Sigmoid() } end,
  }()
  local X = pick{ { { 1e18, 1, 2, 3 }, { 2e18, 0, 0, 1 } }, { { 1, 2, 3, 4 }, { 2, 1, 0, 1 } },
    { { 1e30, 0, 0, 1 }, { -1e30, 1, 1, 1 } }, { { 3e38, -3e38, 1, 1 }, { 1, 1, 1, 1 } } }
  local T = pick{ { 1, 2 }, nn.Matrix{ { 1, 0 }, { 0, 1 } }, nn.Matrix{ { 1e30, 0 }, { 0, -1e30 } },
    nn.Matrix{ { 0.5, 0.5 }, { 5, -3 } } }
  local o = trainer_options()
  local f = function()
    local tr = nn.Trainer(net, o)
    check("nn.Trainer", true, tr, nil, { net, o })
    if int(1, 2) == 1 then return tr:fit(X, T, { epochs = int(1, 5) }) end
    for _ = 1, int(1, 5) do tr:step(X, T) end
  end
  return f, net
end

local function step(i)
  local k, to = int(1, 22), int(1, SLOTS)
  local f, self, a, n, what
  if k <= 5 then
    local name = pick(CONSTRUCTORS)
    f = nn[name]
    if name == "Linear" then
      a, n = { pick{ 1, 2, 3, 4, 2100, value() }, pick{ 1, 2, 3, 4, 2100, value() } }, 2
    elseif name == "Sequential" and int(1, 2) == 1 then
      local modules = {}
      for j = 1, int(0, 6) do
        modules[j] = pick{ nn.Linear(pick{ 3, 4, 2100 }, pick{ 2, 3, 4, 2100 }), nn.ReLU(),
          nn.SoftMax(), nn.Identity(), nn.LeakyReLU(0.1), nn.Tanh(), nn.Sigmoid(),
          nn.GELU(pick{ "none", "tanh" }), nn.SiLU(), nn.Softplus(pick{ 1, 2 }), nn.ELU(0.5),
          nn.LayerNorm(pick{ 3, 4 }), nn.Standardize({ 1, -1, 0.5 }, { 2, 0.25, 1 }),
          nn.BatchNorm(pick{ 3, 4 }, pick{ { eps = 1e-3 }, { momentum = 0.5 } }),
          nn.Dropout(pick{ 0, 0.5 }),
          nn.Embedding(5, pick{ 1, 2 }, { ids = pick{ 1, 4 } }),
          nn.EmbeddingBag(5, 2, { ids = pick{ 1, 4 }, mode = pick{ "mean", "sum" } }),
          nn.Input{ pick{ 1, 2 }, 2, 2 }, nn.Conv2d(1, 2, pick{ 1, 2, 3 }, 2, { padding = pick{ 0, 1 } }),
          nn.Conv1d(pick{ 1, 2 }, 2, 2, { stride = pick{ 1, 2 } }), nn.MaxPool2d(pick{ 1, 2 }),
          nn.AvgPool2d(2), nn.MaxPool1d(2), nn.GlobalAvgPool(), nn.Flatten(),
          V[int(1, SLOTS)] }
      end
      a, n = { modules }, 1
    elseif name == "Trainer" then
      a, n = { pick{ n = 5, V[1], V[4], V[6], net(), value() }, pick{ trainer_options(), value() } }, 2
    elseif name == "CrossEntropyCriterion" then
      -- the criterion, then its loss of a random y and t
      f = function(y, t)
        local c = nn.CrossEntropyCriterion()
        return c:forward(y, t), c
      end
      a, n = { pick{ { 1, 2 }, { 0.5, 0.5 }, V[3] }, pick{ { 5, -3 }, { 0.5, 0.5 }, { 0.5, 0.6 },
        { 1, 0 }, 1, 3, { 0, 0 }, value() } }, 2
      name = "crit:forward"
      a[3] = a[2]
    elseif name == "open" then
      -- a path of any text lands beside FILE, never where the fuzzer runs
      local path = value()
      if type(path) == "string" or type(path) == "number" then
        path = file .. "-" .. tostring(path):gsub("[^%w.-]", "_"):sub(1, 40)
      end
      a, n = { pick{ file, file, ":memory:", "", file .. "-dir/", "/nonexistent/dir/x.db", path },
        value() }, 2
    else
      a, n = args(int(0, 3))
    end
    what = name == "crit:forward" and name or "nn." .. name
  elseif k <= 16 then
    local name
    self = V[int(1, SLOTS)]
    if int(1, 8) == 1 then self = value() end
    f, a, n, name = method_call(self)
    what = describe(self) .. ":" .. name
  elseif k == 17 then
    f = function() collectgarbage() end
    a, n, what = {}, 0, "collectgarbage"
  elseif k == 18 then
    f = function(s, sql, ...)
      local c = 0
      for _ in s:rows(sql, ...) do c = c + 1; if c > int(0, 3) then break end end
    end
    a, n = args(int(0, 2))
    table.insert(a, 1, PLAUSIBLE.sql())
    table.insert(a, 1, V[2])
    n = n + 2
    what = "for in rows"
  elseif k == 19 then
    local it = V[int(1, SLOTS)]
    f = function() return it() end
    a, n, what = {}, 0, "call " .. describe(it)
  elseif k == 20 then
    f = function(v) return tostring(v), #tostring(v) end
    a, n, what = { V[int(1, SLOTS)] }, 1, "tostring"
  else
    local net
    f, net = train_case()
    a, n, what = {}, 0, "train"
    NET_OF[f] = net
  end
  local shown = {}
  for j = 1, n do shown[j] = describe(a[j]) end
  print(("STEP %d: V%d = %s(%s)"):format(i, to, what, table.concat(shown, ", ")))
  local cname = what == "crit:forward" and what or what:match(":([%w_]+)$") or what
  local trained = (cname == "step" or cname == "fit") and NET_OF[self] or NET_OF[f]
  if trained and bad_weight(trained) then trained = nil end
  local ok, r, r2 = pcall(f, table.unpack(a, 1, n))
  check(cname, ok, r, r2, a, trained)
  if ok then
    print("OK")
    -- a network or matrix of millions of numbers is made, checked, then let
    -- go: what later steps would do with it is slow, not wrong
    if huge(r) then r = nil end
    if type(r) == "userdata" or type(r) == "function" or (r ~= nil and int(1, 4) == 1) then
      V[to] = r
    end
  else
    print("ERR " .. tostring(r):sub(1, 200):gsub("[%c]", " "))
  end
end

-- Start from a few useful values.
V[1] = nn.Sequential{ nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.SoftMax() }
V[2] = nn.open(file)
V[3] = nn.Matrix{ { 32, 107, 56, 11.2 }, { 1, 2, 3, 4 } }
V[4] = V[2] and V[2]:load("leaf_flower")
V[5] = V[2] and V[2]:rows("SELECT * FROM nn_predictions")
V[6] = nn.Sequential{ nn.Identity(), nn.Linear(3, 5), nn.Linear(5, 2), nn.Tanh() }
V[7] = nn.open(":memory:")
V[8] = nn.Matrix(2, 3)
for i = 1, steps do step(i) end
for k = 1, SLOTS do V[k] = nil end
collectgarbage()
print("DONE")
