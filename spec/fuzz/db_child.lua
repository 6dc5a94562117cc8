--- One case of the db fuzzer (spec/fuzz/db.lua), in a child process:
--   lua5.4 spec/fuzz/db_child.lua FILE ANSWERS [file|bytes]
-- opens FILE with nn (bytes: reads it and opens its bytes with
-- nn.open_bytes, which never logs), asks it every question of spec/fuzz/db_facts.lua
-- and prints a line for each: ERR (a clean error), OK (the valid file's
-- answer), FACT (another answer, given without an error), BAD (a classify
-- that raised but logged its row all the same); then DONE.
-- ANSWERS is a Lua file returning the models and the valid file's answers.

local nn = require "nn"
local facts = require "spec.fuzz.db_facts"

local path, answers_file, mode = arg[1], arg[2], arg[3] or "file"
local valid = dofile(answers_file)

local function one_line(s)
  s = tostring(s):gsub("[%c]", " ")
  return #s > 160 and s:sub(1, 160) .. "..." or s
end

-- Where two answers part: a stretch of each from just before.
local function difference(got, want)
  local i = 1
  while i <= #got and got:byte(i) == want:byte(i) do i = i + 1 end
  local from = math.max(1, i - 30)
  return ("gave ...%s... where the valid file gives ...%s..."):format(
    one_line(got:sub(from, i + 50)), one_line(want:sub(from, i + 50)))
end

local store, msg
if mode == "bytes" then
  local f = assert(io.open(path, "rb"))
  local bytes = f:read("*a")
  f:close()
  store, msg = nn.open_bytes(bytes)
else
  store, msg = nn.open(path, { flush_rows = 1 })
end
if not store then
  print("ERR open: " .. one_line(msg))
  print("DONE")
  return
end
-- Rows in the log, or nil when the file cannot say.
local function logged()
  local ok, n = pcall(function()
    for row in store:rows("SELECT count(*) AS n FROM nn_prediction") do return row.n end
  end)
  return ok and n or nil
end

for _, q in ipairs(facts.questions(valid.models)) do
  local key, ask = q[1], q[2]
  local before = key:find("^classify") and logged()
  local ok, got = pcall(ask, store)
  local after = before and not ok and logged()
  if after and after ~= before then
    print(("BAD %s raised, yet the log went from %d rows to %d: %s"):format(key, before,
      after, one_line(got)))
  elseif not ok then
    print("ERR " .. key .. ": " .. one_line(got))
  elseif got == valid.answers[key] then
    print("OK " .. key)
  else
    print(("FACT %s: %s"):format(key, difference(tostring(got), valid.answers[key])))
  end
end
local ok, err = pcall(store.close, store)
if not ok then print("ERR close: " .. one_line(err)) end
print("DONE")
