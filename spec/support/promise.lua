--- The values a README comment promises, checked: `--> 0.6457`, `--> leaf
-- 0.6457 y`, `--> { "leaf", "flower" }, { 0.6492, 0.9823 }, Y` in a Lua
-- block, `# --> leaf` in a shell block (spec/readme_spec.lua).
--
-- A promise is a list of items, separated by commas or spaces, up to the
-- first " (" (prose after it is not checked):
--   a number      the value within half a unit of its last digit (0.6457:
--                 within 5e-5); an integer without a point: exactly
--   "text"        that string
--   word          that string; for a value that is not a string or a number
--                 (a table, an nn.Matrix), any such value: the word names it
--                 (y, Y, columns); true, false and nil: that value
--   { items }     a table whose elements 1..n are those items, and no more
--   ...           as an item: any further values or elements
-- Loaded into the child process that runs a Lua block, and by the spec for
-- the output of a shell line.

local promise = {}

local function fail(line, text, why)
  error(("README.md:%d: the comment promises %s, but %s"):format(line,
    (text:gsub("%s+%(.*$", "")), why), 0)
end

--- The items of text (see above), or nil and why it cannot be read.
local function parse(text)
  local pos, stack = 1, { {} }
  local function add(item) table.insert(stack[#stack], item) end
  while pos <= #text do
    local c = text:sub(pos, pos)
    local rest = text:sub(pos)
    if c:match("[%s,]") then
      pos = pos + 1
    elseif c == "(" and #stack == 1 then
      break
    elseif c == "{" then
      stack[#stack + 1] = { kind = "table" }
      pos = pos + 1
    elseif c == "}" then
      if #stack == 1 then return nil, "a '}' without its '{'" end
      local t = table.remove(stack)
      add(t)
      pos = pos + 1
    elseif rest:match("^%.%.%.") then
      add({ kind = "more" })
      pos = pos + 3
    elseif c == '"' then
      local s = rest:match('^"([^"]*)"')
      if not s then return nil, "a string without its closing quote" end
      add({ kind = "string", value = s })
      pos = pos + #s + 2
    else
      local word = rest:match("^[^%s,{}]+")
      local n = tonumber(word)
      if n and word:match("^[-+]?[%d.]") then
        local decimals = word:match("%.(%d+)") or ""
        add({ kind = "number", value = n,
              tol = word:find("%.") and 0.5 * 10 ^ -#decimals + 1e-12 or 0 })
      else
        add({ kind = "word", value = word })
      end
      pos = pos + #word
    end
  end
  if #stack ~= 1 then return nil, "a '{' without its '}'" end
  return stack[1]
end

local function show(v)
  if type(v) == "string" then return ("%q"):format(v) end
  if type(v) ~= "table" then return tostring(v) end
  local parts = {}
  for i = 1, #v do parts[i] = show(v[i]) end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

local unpack = table.unpack or unpack
local match_list

--- Whether value is what item promises; else nil and why not.
local function match(item, value)
  if item.kind == "number" then
    if type(value) ~= "number" then return nil, "got " .. show(value) end
    if math.abs(value - item.value) > item.tol then return nil, "got " .. show(value) end
  elseif item.kind == "string" then
    if value ~= item.value then return nil, "got " .. show(value) end
  elseif item.kind == "word" then
    local literal = ({ ["true"] = true, ["false"] = false })[item.value]
    if literal ~= nil or item.value == "nil" then
      if value ~= literal then return nil, "got " .. show(value) end
    elseif type(value) == "string" or type(value) == "number" or value == nil then
      if value ~= item.value then return nil, "got " .. show(value) end
    end
  elseif item.kind == "table" then
    if type(value) ~= "table" then return nil, "got " .. show(value) end
    local n = 0
    for k in pairs(value) do if type(k) == "number" then n = math.max(n, k) end end
    return match_list(item, value, n, "element")
  end
  return true
end

--- Whether values[1..n] are what items promise; else nil and why not
-- (naming the first that is not by what: "value 2", "element 1").
function match_list(items, values, n, what)
  local open = #items > 0 and items[#items].kind == "more"
  local want = open and #items - 1 or #items
  if n < want or (not open and n > want) then
    return nil, ("%d %ss came: %s"):format(n, what, show({ unpack(values, 1, n) }))
  end
  for i = 1, want do
    local ok, why = match(items[i], values[i])
    if not ok then return nil, ("%s %d: %s"):format(what, i, why) end
  end
  return true
end

--- Raises, naming the README's line, unless the n values are what text
-- promises.
function promise.check_values(line, text, values, n)
  local items, why = parse(text)
  if not items then fail(line, text, "it cannot be read: " .. why) end
  local ok, mismatch = match_list(items, values, n, "value")
  if not ok then fail(line, text, mismatch) end
end

--- The statement's values, checked: what a `-->` on an assignment or a call
-- becomes.  Returns them.
function promise.check(line, text, ...)
  promise.check_values(line, text, { ... }, select("#", ...))
  return ...
end

--- print(...) with a `-->`: prints, then checks what it printed.
function promise.print(line, text, ...)
  print(...)
  promise.check_values(line, text, { ... }, select("#", ...))
end

--- What a shell line printed, as values: each word, a number when it
-- reads as one.
function promise.words(out)
  local values = {}
  for word in out:gmatch("%S+") do values[#values + 1] = tonumber(word) or word end
  return values, #values
end

return promise
