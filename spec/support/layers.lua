--- The direction of every dependency in src/, read from the code itself:
-- the #include lines of every file, and the calls (and every other use of a
-- symbol) between the objects of a build, from `nm`.  ARCHITECTURE.md
-- states the rule this checks:
--
--   lua -> sql -> store -> formats -> engine;  lua -> train -> engine;
--   lua -> pgstore -> store;  pgext -> formats -> engine (inside PostgreSQL)
--
-- a folder may use its own files and the folders below it, never one above
-- or beside it; and no two files use each other, directly or through
-- others (no circle), counting calls as well as includes.
--
--   lua5.4 spec/support/layers.lua [build]     prints every breach, exits 1
--                                              when there is one (make layers)

local layers = {}

--- What each folder of src/ may use besides itself.  src/nn.h, the public
-- header of the whole library, sits above them all.
layers.BELOW = {
  engine = {},
  train = { engine = true },
  formats = { engine = true },
  store = { formats = true, engine = true },
  pgstore = { store = true, formats = true, engine = true },
  sql = { store = true, formats = true, engine = true },
  pgext = { formats = true, engine = true },
  lua = { sql = true, pgstore = true, store = true, train = true, formats = true,
          engine = true },
}

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return out
end

local function lines(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

--- Every source file of src/ and its folder ("engine"), "" for src/nn.h.
function layers.files()
  local t = {}
  for _, path in ipairs(lines(sh("cd src && ls *.h */*.c */*.h 2>/dev/null"))) do
    t[#t + 1] = { path = "src/" .. path, folder = path:match("^([^/]+)/") or "" }
  end
  return t
end

local function folder_of(path)
  return path:match("^src/([^/]+)/") or ""
end

--- May a file of folder `from` use one of folder `to`?
function layers.allowed(from, to)
  if from == to or from == "" then return true end
  if to == "" then return from == "sql" or from == "lua" end  -- nn.h: prototypes only
  local below = layers.BELOW[from]
  return below ~= nil and below[to] == true
end

--- Edges from includes: { from = path, to = path, why = "#include ..." }.
-- A quoted name is looked up as the compiler does: beside the file, then
-- in src/, then in src/engine/ (the public headers' path).
function layers.include_edges()
  local edges, exists = {}, {}
  for _, f in ipairs(layers.files()) do exists[f.path] = true end
  for _, f in ipairs(layers.files()) do
    local text = assert(io.open(f.path)):read("*a")
    for name in text:gmatch('\n%s*#%s*include%s+"([^"]+)"') do
      local dir = f.path:match("^(.*)/")
      for _, candidate in ipairs({ dir .. "/" .. name, "src/" .. name, "src/engine/" .. name }) do
        if exists[candidate] then
          edges[#edges + 1] = { from = f.path, to = candidate, why = '#include "' .. name .. '"' }
          break
        end
      end
    end
  end
  return edges
end

--- Edges from symbols: an object that uses a symbol another object defines.
-- build is the build directory (its objects mirror src/: build/store/x.o).
function layers.symbol_edges(build)
  local defined, uses = {}, {}
  local objects = {}
  for folder in pairs(layers.BELOW) do
    for _, o in ipairs(lines(sh("cd '" .. build .. "' && ls " .. folder .. "/*.o 2>/dev/null"))) do
      -- an object whose source has moved or gone is a left-over of an older build
      local f = io.open("src/" .. o:gsub("%.o$", ".c"))
      if f then
        f:close()
        objects[#objects + 1] = o
      end
    end
  end
  assert(#objects > 0, "no objects under " .. build .. "/*/: build first (make)")
  for _, o in ipairs(objects) do
    local src = "src/" .. o:gsub("%.o$", ".c")
    uses[src] = {}
    for _, l in ipairs(lines(sh("nm -P '" .. build .. "/" .. o .. "'"))) do
      local sym, kind = l:match("^(%S+) (%a)")
      if kind == "U" then
        uses[src][#uses[src] + 1] = sym
      elseif kind and kind:match("[TDBRVWC]") then
        defined[sym] = src
      end
    end
  end
  local edges = {}
  for src, syms in pairs(uses) do
    local seen = {}
    for _, sym in ipairs(syms) do
      local to = defined[sym]
      if to and to ~= src then
        local key = to
        if not seen[key] then
          seen[key] = { from = src, to = to, why = sym }
          edges[#edges + 1] = seen[key]
        else
          seen[key].why = seen[key].why .. ", " .. sym
        end
      end
    end
  end
  return edges
end

--- The edges that run against the direction of the folders.
function layers.against(edges)
  local bad = {}
  for _, e in ipairs(edges) do
    if not layers.allowed(folder_of(e.from), folder_of(e.to)) then bad[#bad + 1] = e end
  end
  table.sort(bad, function(a, b) return a.from .. a.to < b.from .. b.to end)
  return bad
end

--- The circles among files: each a sorted list of paths (strongly connected
-- components of more than one file, by Tarjan's algorithm).  A header is a
-- file of its own: including it is an edge to it, and a call is an edge to
-- the .c file that defines what is called.
function layers.circles(edges)
  local succ, nodes = {}, {}
  for _, e in ipairs(edges) do
    local a, b = e.from, e.to
    if a ~= b then
      succ[a] = succ[a] or {}
      succ[a][b] = true
      nodes[a], nodes[b] = true, true
    end
  end
  local index, low, onstack, stack, n, out = {}, {}, {}, {}, 0, {}
  local function visit(v)
    n = n + 1
    index[v], low[v] = n, n
    stack[#stack + 1] = v
    onstack[v] = true
    for w in pairs(succ[v] or {}) do
      if not index[w] then
        visit(w)
        low[v] = math.min(low[v], low[w])
      elseif onstack[w] then
        low[v] = math.min(low[v], index[w])
      end
    end
    if low[v] == index[v] then
      local comp = {}
      repeat
        local w = table.remove(stack)
        onstack[w] = false
        comp[#comp + 1] = w
      until w == v
      if #comp > 1 then
        table.sort(comp)
        out[#out + 1] = comp
      end
    end
  end
  local order = {}
  for v in pairs(nodes) do order[#order + 1] = v end
  table.sort(order)
  for _, v in ipairs(order) do
    if not index[v] then visit(v) end
  end
  return out
end

--- Every edge, includes and symbols together.
function layers.edges(build)
  local all = layers.include_edges()
  for _, e in ipairs(layers.symbol_edges(build)) do all[#all + 1] = e end
  return all
end

--- A report of every breach, one a line; "" when there is none.
function layers.report(build)
  local edges = layers.edges(build)
  local out = {}
  for _, e in ipairs(layers.against(edges)) do
    out[#out + 1] = ("against the direction: %s -> %s (%s)"):format(e.from, e.to, e.why)
  end
  for _, c in ipairs(layers.circles(edges)) do
    out[#out + 1] = "a circle: " .. table.concat(c, " <-> ")
  end
  return table.concat(out, "\n")
end

if arg and arg[0] and arg[0]:match("layers%.lua$") then
  local report = layers.report(arg[1] or "build")
  if report ~= "" then
    io.stderr:write(report, "\n")
    os.exit(1)
  end
  print("src/: every include and call runs downward, and no file is in a circle")
end

return layers
