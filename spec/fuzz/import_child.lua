--- One case of the import fuzzer (spec/fuzz/import.lua), in a child:
--   lua5.4 spec/fuzz/import_child.lua FILE IMPORT
-- IMPORT is a Lua file returning the import function; FILE the bytes to
-- import.  Prints ERR (a clean error: a string message), OK (a network that
-- passes the checks below) or BAD (anything else), then DONE.
--
-- The checks: the result is an nn.Network; built again by hand from its
-- listing and weights it gives the same outputs, bit for bit, on an input;
-- its clone does too; fold runs on it (its answers may differ by more than
-- rounding when mutated weights overflow, so they are not compared).

local nn = require "nn"

local file, import_file = arg[1], arg[2]
local import = dofile(import_file)
local f = assert(io.open(file, "rb"))
local bytes = f:read("a")
f:close()

local function one_line(s) return (tostring(s):sub(1, 200):gsub("%c", " ")) end

-- The modules of net:modules(), each made with the public constructors
-- from its sizes and hyper-parameters (in the order nn.kind gives them),
-- its tensors copied by name.
local function rebuild(net)
  local list, modules = net:modules(), {}
  for i, m in ipairs(list) do
    local k, args = nn.kind(m.kind), {}
    if k.sizes == 2 then args = { m.n_in, m.n_out } elseif k.sizes == 1 then args = { m.n_in } end
    for _, h in ipairs(k.hyper) do args[#args + 1] = m.hyper[h.name] end
    modules[i] = nn[m.kind]((table.unpack or unpack)(args))
  end
  local copy = nn.Sequential(modules)
  for i, m in ipairs(list) do
    for _, t in ipairs(m.params) do copy:set_weights(i, t.name, net:get_weights(i, t.name)) end
  end
  return copy
end

local function same(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if not (a[i] == b[i] or (a[i] ~= a[i] and b[i] ~= b[i])) then return false end
  end
  return true
end

local function check(net)
  local mt = getmetatable(net)
  if type(mt) ~= "table" or mt.__name ~= "nn.Network" then
    return "the import gave a " .. type(net) .. ", not an nn.Network"
  end
  local n = net:n_inputs()
  if n == 0 then n = 3 end
  if n > 1e6 then return nil end     -- too wide to check here, but made
  local x = {}
  -- a net that takes ids (an embedding first): ids 0 and 1 (or -1, a bag's none)
  local first = net:modules()[1]
  local kind = first and first.kind
  for i = 1, n do
    if kind == "Embedding" then x[i] = 0
    elseif kind == "EmbeddingBag" then x[i] = i % 2 == 0 and -1 or 0
    else x[i] = (i % 7) / 4 - 0.5 end
  end
  local y = net:forward(x)
  if net:n_outputs() > 0 and #y ~= net:n_outputs() then
    return ("forward gave %d numbers for %d outputs"):format(#y, net:n_outputs())
  end
  if not same(y, rebuild(net):forward(x)) then return "the network built by hand answers otherwise" end
  if not same(y, net:clone():forward(x)) then return "its clone answers otherwise" end
  local ok, folded = pcall(net.fold, net)
  if ok then folded:forward(x) end
end

local ok, net = pcall(import, bytes)
if not ok then
  if type(net) == "string" then print("ERR " .. one_line(net))
  else print("BAD the import raised a " .. type(net) .. ", not a message") end
else
  local okc, problem = pcall(check, net)
  if not okc then print("BAD checking the network raised: " .. one_line(problem))
  elseif problem then print("BAD " .. problem)
  else print("OK") end
end
print("DONE")
