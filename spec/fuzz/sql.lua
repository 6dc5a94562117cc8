--- Fuzzer: random calls of nn_classify, nn_score and nn_forward in the
-- sqlite3 shell with the extension loaded (see spec/fuzz/run.lua).
--
-- Each case is one shell session on a copy of the db fuzzer's valid file:
-- a script of random calls (model references, arities, types, JSON, calls
-- nested in calls, over many rows, inside transactions that change or drop
-- the tables, then roll back) between two calls whose answer is known.  A failure is a
-- crash, a hang, or a known answer that comes out wrong.

local F = require "spec.fuzz.common"
local db = require "spec.fuzz.db"

local int, pick = F.int, F.pick

local REFS = { "'leaf_flower'", "'leaf_flower@1'", "'leaf_flower@2'", "'leaf_flower@0'",
  "'leaf_flower@-1'", "'leaf_flower@99999999999999999999'", "'leaf_flower:weather'",
  "'leaf_flower@1:weather'", "'leaf_flower:'", "'@1'", "':weather'", "'leaf_flower@1@2'",
  "'leaf_flower:weather:x'", "'wide'", "'wide:default'", "'wide@1:default'", "''", "NULL",
  "42", "1.5", "x'6c6561665f666c6f776572'", "'leaf_flower' || char(0) || 'x'",
  "'" .. string.rep("m", 5000) .. "'", "'%'", "'LEAF_FLOWER'", "'leaf_flower@1 '",
  "'leaf_flower@0x1'", "'leaf_flower@1e0'", "'wide:weather'", "'leaf_flower:default'" }

local SCALARS = { "0", "-1", "1", "32", "107", "56", "11.2", "2147483648", "9223372036854775807",
  "-9223372036854775808", "1e308", "-1e308", "9e999", "-9e999", "0.0", "-0.0", "1e-320",
  "NULL", "'1'", "'abc'", "''", "x''", "x'00'", "x'0000803f'", "randomblob(16)",
  "zeroblob(100000)", "'[32,107,56,11.2]'", "'[1,2,3]'", "'[0.5,-1,2]'", "'[1,\"a\",3,4]'",
  "'[[1,2],[3,4]]'", "'{}'", "'['", "'[1e999,0,0,0]'", "'[null,1,2,3]'", "'[true,1,2,3]'",
  "'nan'", "'[' || replace(hex(zeroblob(3000)), '00', '1,') || '1]'", "char(0)",
  "(SELECT input FROM nn_prediction LIMIT 1)", "(SELECT output FROM nn_prediction LIMIT 1)",
  "json_array(32, 107, 56, 11.2)", "json_array(0.5, -1, 2)", "'[32, 107, 56, 11.2]  '",
  "' [32,107,56,11.2]'", "'[32,107,56,11.2,]'", "'[\"32\",107,56,11.2]'" }

local FUNCS = { "nn_classify", "nn_score", "nn_forward" }

local call

-- An argument: a scalar, or now and then a nested call.
local function argument(depth)
  if depth < 2 and int(1, 12) == 1 then return call(depth + 1) end
  return pick(SCALARS)
end

-- A call with a random reference and 0 to 12 random arguments, or the right
-- count of plain numbers for a model.
call = function(depth)
  local f, args = pick(FUNCS), {}
  local k = int(1, 4)
  if k == 1 then
    args[1] = pick(REFS)
    for i = 1, int(0, 12) do args[i + 1] = argument(depth) end
  elseif k == 2 then
    args[1] = pick{ "'leaf_flower'", "'leaf_flower@2:weather'", "'wide'" }
    for i = 1, args[1] == "'wide'" and 3 or 4 do args[i + 1] = pick{ "1", "0.5", "-3", "1e5", "'2'" } end
  elseif k == 3 then
    args[1] = pick(REFS)
    args[2] = argument(depth)
  else
    for i = 1, int(0, 3) do args[i] = argument(depth) end
  end
  return f .. "(" .. table.concat(args, ", ") .. ")"
end

local ROWS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %d) "

-- One statement: a call alone, over rows, in a WHERE, or in a transaction
-- that changes what the functions read.
local function statement()
  local k = int(1, 8)
  if k <= 3 then
    return "SELECT " .. call(0) .. ";"
  elseif k == 4 then
    return (ROWS .. "SELECT count(%s(%s, x, x / 3.0, -x, x)) FROM c;"):format(int(1, 2000),
      pick(FUNCS), pick{ "'leaf_flower'", "'leaf_flower@1:weather'", pick(REFS) })
  elseif k == 5 then
    return "SELECT prediction_id FROM nn_prediction WHERE " .. call(0) .. " IS NOT NULL;"
  elseif k == 6 then
    return "SELECT nn_forward('leaf_flower', input), nn_classify('leaf_flower:weather', input) "
      .. "FROM nn_prediction;"
  elseif k == 7 then
    return "BEGIN; " .. pick{ "DELETE FROM nn_prediction;", "DROP TABLE nn_feedback;",
      "DROP TRIGGER nn_labelmap_no_update; UPDATE nn_labelmap SET labels = '[\"a\"]';",
      "DROP TRIGGER nn_version_no_delete; DELETE FROM nn_version;",
      "INSERT INTO nn_model (name, created_at) VALUES ('new', 0);",
      "DROP VIEW nn_predictions; DROP TABLE nn_feedback; DROP TABLE nn_prediction;",
      "DROP TRIGGER nn_labelmap_no_delete; DELETE FROM nn_labelmap;" }
      .. " SELECT " .. call(0) .. "; " .. pick{ "ROLLBACK;", "" }
  else
    return "SELECT " .. call(0) .. ", " .. call(0) .. ";"
  end
end

-- Calls whose answers are known (the seed's network reads its leaf as a leaf).
local KNOWN = "SELECT 'known', nn_classify('leaf_flower@1', 32, 107, 56, 11.2), "
  .. "nn_classify('leaf_flower@1:weather', '[32,107,56,11.2]');"
local KNOWN_ANSWER = "known|leaf|sunny"

return function(t, n, from)
  local s = F.settings
  local valid_path = s.dir .. "/sql-valid.db"
  db.make_valid(valid_path)
  local valid = F.read(valid_path)
  local path, script = s.dir .. "/sql-case.db", s.dir .. "/sql-case.sql"
  for i = from, from + n - 1 do
    math.randomseed(F.case_seed("sql", i))
    F.remove_db(path)
    F.write(path, valid)
    local lines = { ".load " .. s.ext, ".bail off", KNOWN }
    local count = int(1, 30)
    for j = 1, count do lines[j + 3] = statement() end
    lines[#lines + 1] = "ROLLBACK;"
    lines[#lines + 1] = KNOWN
    local text = table.concat(lines, "\n") .. "\n"
    F.write(script, text)
    local how, code, out = F.run(("%s -batch %s"):format(s.sqlite3, F.shell_quote(path)), script)
    local errors = 0
    for line in out:gmatch("[^\n]+") do
      if line:find("^Parse error") or line:find("^Runtime error") or line:find("^Error") then
        errors = errors + 1
      end
    end
    local _, known = out:gsub(KNOWN_ANSWER:gsub("%p", "%%%0"), "")
    -- the shell exits 1 after an error in its input: that is a clean end
    local verdict = (how == "exit" and code <= 1) and "DONE" or ""
    local lines_out = {}
    for _ = 1, errors do lines_out[#lines_out + 1] = "ERR" end
    for _ = 1, math.max(0, count + 2 - errors) do lines_out[#lines_out + 1] = "OK" end
    if verdict == "DONE" and known < 2 then
      lines_out[#lines_out + 1] = ("BAD a known answer came out wrong (%d of 2 right)\n%s")
        :format(known, out:sub(1, 400))
    end
    lines_out[#lines_out + 1] = verdict
    t.judge(i, how, verdict == "DONE" and 0 or code, table.concat(lines_out, "\n") .. "\n"
      .. (verdict == "" and out:sub(-600) or ""), { sql = text, db = valid })
  end
  F.remove_db(path)
end
