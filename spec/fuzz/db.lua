--- Fuzzer: mutated store files through nn.open, load, history, classify
-- and the SQL functions (see spec/fuzz/run.lua).
--
-- A valid file is made once: two models, versions, label maps, training
-- runs, predictions and feedback.  Each case changes a copy of it, either
-- its bytes (bit flips, cuts, junk) or its cells through the sqlite3 shell,
-- after dropping the immutability triggers and turning CHECK constraints
-- off, as a careless user or an attacker could: architectures, sizes,
-- weights, label maps, training runs and their epochs, names, schema
-- version, STRICT.  A child (db_child.lua) then asks the
-- copy every question of db_facts.lua.  A failure is a crash, a hang, or
-- (with FUZZ_FACTS=1) an answer that differs from the valid file's without
-- an error after a change of a cell's content, or after versions, label maps
-- or training runs were deleted, renumbered or moved to another model.  A file nn.open refuses must
-- be left byte for byte as it was.
--
-- The bytes fuzzer (spec/fuzz/bytes.lua) makes the same cases and hands
-- each file's bytes to nn.open_bytes instead, its header in WAL or
-- rollback-journal mode at random (the same pages either way).

local F = require "spec.fuzz.common"
local facts = require "spec.fuzz.db_facts"

local int, pick = F.int, F.pick

local MODELS = {
  { name = "leaf_flower", versions = 2, maps = { "default", "weather" },
    input = { 32, 107, 56, 11.2 } },
  { name = "wide", versions = 1, maps = { "default" }, input = { 0.5, -1, 2 } },
}

-- The valid file: built with nn itself.
local function make_valid(path)
  local nn = require "nn"
  local seed = require "spec.support.seed"
  F.remove_db(path)
  local store = assert(nn.open(path))
  store:save("leaf_flower", seed.network(nn, seed.labels), { note = "the seed's" })
  store:add_labels("leaf_flower", "weather", seed.weather)
  local v2 = seed.network(nn, seed.labels)
  v2:set_weights(3, { { 0.5, -0.25, 1 }, { -1, 2, 0.125 } }, { 0.75, -0.5 })
  store:save("leaf_flower", v2, { training = {
    epochs = { { epoch = 1, loss = 0.75, ms = 2 },
               { epoch = 2, loss = 0.5, val_loss = 0.625, val_accuracy = 0.5, ms = 1.5 },
               { epoch = 3, loss = 0.25, val_loss = 0.5, val_accuracy = 1, ms = 1.25 } },
    best_epoch = 3, stopped = "epochs", rows = 12, options = { lr = 0.5, betas = { 0.9 } },
    started_at = 1000, ended_at = 1005 }, source = "leaves.csv" })
  local wide = nn.Sequential{ nn.Identity(), nn.Linear(3, 5), nn.LeakyReLU(0.125),
    nn.Linear(5, 2), nn.Sigmoid() }
  store:save("wide", wide, { labels = { "yes", "no" },
    training = { epochs = { { epoch = 1, loss = 1, ms = 0 } }, stopped = "callback", rows = 1 } })
  for k = 1, 3 do
    local _, _, id = store:classify("leaf_flower", k == 2 and seed.flower_input or seed.input,
      { request_id = "r" .. k, tags = { k = tostring(k) } })
    store:feedback(id, k == 2 and "flower" or "leaf")
  end
  store:classify("wide", MODELS[2].input, { labels = "default" })
  local answers = {}
  for _, q in ipairs(facts.questions(MODELS)) do answers[q[1]] = q[2](store) end
  local cells = { versions = {}, maps = {}, triggers = {}, runs = {} }
  for row in store:rows("SELECT version_id AS id, arch, n_inputs, n_outputs, n_params, "
      .. "hex(weights) AS weights FROM nn_version") do
    cells.versions[#cells.versions + 1] = row
  end
  for row in store:rows("SELECT version_id AS id, epochs FROM nn_training") do
    cells.runs[#cells.runs + 1] = row
  end
  for row in store:rows("SELECT labelmap_id AS id, labels FROM nn_labelmap") do
    cells.maps[#cells.maps + 1] = row
  end
  for row in store:rows("SELECT name FROM sqlite_schema WHERE type = 'trigger'") do
    cells.triggers[#cells.triggers + 1] = row.name
  end
  store:close()
  return answers, cells
end

local function sql_text(s) return "'" .. s:gsub("'", "''") .. "'" end

-- --- changed cells ---------------------------------------------------------------

-- every kind of the engine's table, then names that are none
local KINDS = { "", "linear", "Conv2d", "ReLU\\u0000" }
for _, kind in ipairs(require("nn").kinds) do KINDS[#KINDS + 1] = kind end
local NUMBERS = { "0", "-1", "1", "2", "3", "4", "5", "4.5", "1e308", "-0", "16777217",
  "9007199254740993", "18446744073709551616", "null", "true", "\"4\"", "[4]", "1e-400" }

-- A JSON architecture, changed as a whole layer or a single value at a time.
local function mutate_arch(arch)
  local layers = {}
  for obj in arch:gmatch("{[^{}]*}") do layers[#layers + 1] = obj end
  local function join(t) return "[" .. table.concat(t, ",") .. "]" end
  local k, n = int(1, 10), #layers
  local a, b = int(1, n), int(1, n)
  if k == 1 then
    layers[a] = layers[a]:gsub('"type":"%w*"', '"type":"' .. pick(KINDS) .. '"')
  elseif k == 2 then
    layers[a], layers[b] = layers[b], layers[a]
  elseif k == 3 then
    table.insert(layers, a, layers[a])
  elseif k == 4 then
    table.remove(layers, a)
  elseif k == 5 then
    for _ = 1, int(1, 3) do table.insert(layers, int(1, #layers + 1), '{"type":"Identity"}') end
  elseif k == 6 then
    local starts = {}
    for s in arch:gmatch("():%-?%d") do starts[#starts + 1] = s end
    local s = pick(starts)
    local e = arch:find("[,}]", s)
    return arch:sub(1, s) .. pick(NUMBERS) .. arch:sub(e)
  elseif k == 7 then
    layers[a] = layers[a]:gsub("}$", pick{ ',"alpha":0.5}', ',"in":4}', ',"extra":1}', ',"type":"Tanh"}' })
  elseif k == 8 then
    return (F.mutate_bytes(arch))
  elseif k == 9 then
    return pick{ "[]", "{}", "null", "[1]", '"x"', "[[]]", string.rep("[", 5000) .. string.rep("]", 5000),
      join{ layers[1], string.rep('{"type":"Identity"},', 70000) .. '{"type":"Identity"}' } }
  else
    layers[a] = layers[a]:gsub('"(%a+)":', function(key) return '"' .. key:upper() .. '":' end, 1)
  end
  return join(layers)
end

local LABELS = { '["leaf"]', '["leaf","flower","x"]', '{"0":"leaf","1":"flower"}', '["",""]',
  '["le\\u0000af","flower"]', '[1,2]', 'null', '"leaf"', '[]', '["flower","leaf"]',
  '[ "leaf" , "flower" ]', '["leaf",null]', '[["leaf"],"flower"]', '["sunny","rainy"]',
  '["yes","no"]', '["' .. string.rep("x", 70000) .. '","y"]' }

local function hex_bytes(hex)
  return (hex:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

local function bytes_hex(bytes)
  return (bytes:gsub(".", function(c) return ("%02X"):format(c:byte()) end))
end

local RUN_VALUES = {
  options = { "'{}'", "'{\"lr\":0.25,\"betas\":[0.9]}'", "'[]'", "'x'", "NULL", "'{\"lr\":0.5}'" },
  rows = { "13", "0", "-1", "'12'", "12.0", "NULL" },
  epochs = { "2", "4", "0", "'3'", "3.5" },
  best_epoch = { "1", "2", "NULL", "0", "99", "'3'" },
  stopped = { "'patience'", "'epochs '", "''", "NULL", "1" },
  source = { "NULL", "'leaves.csv '", "''", "X'00'", "'SELECT 1'" },
  started_at = { "999", "1001", "0", "'1000'", "1000.5" },
  ended_at = { "1006", "1004", "NULL", "'1005'" },
}
local EPOCH_VALUES = {
  epoch = { "epoch + 1", "epoch - 1", "0", "7", "'1'" },
  loss = { "loss * 2", "loss + 1e-12", "-loss", "NULL", "'0.5'", "0", "1e308" },
  val_loss = { "NULL", "0.625", "val_loss + 1e-15", "'x'" },
  val_accuracy = { "NULL", "0.5", "1 - val_accuracy", "2" },
  ms = { "ms + 0.25", "0", "-0.0", "NULL", "ms * 1000" },
}

-- A change to a training run or its epochs (which one digest covers, and
-- the model's facts which runs there are): none may go unseen.
local function changed_run(cells)
  local r = pick(cells.runs)
  local where = " WHERE version_id = " .. r.id
  local k = int(1, 6)
  if k <= 2 then
    local cols = {}
    for col in pairs(RUN_VALUES) do cols[#cols + 1] = col end
    table.sort(cols)
    local col = pick(cols)
    return ("UPDATE nn_training SET %s = %s%s;"):format(col, pick(RUN_VALUES[col]), where)
  elseif k <= 4 then
    local cols = {}
    for col in pairs(EPOCH_VALUES) do cols[#cols + 1] = col end
    table.sort(cols)
    local col = pick(cols)
    return ("UPDATE nn_training_epoch SET %s = %s%s AND epoch = %d;"):format(col,
      pick(EPOCH_VALUES[col]), where, int(1, r.epochs))
  elseif k == 5 then
    return pick{
      "DELETE FROM nn_training_epoch" .. where .. " AND epoch = " .. int(1, r.epochs) .. ";",
      ("INSERT INTO nn_training_epoch VALUES (%d, %d, 0.125, NULL, NULL, 1);")
        :format(r.id, r.epochs + 1),
      "DELETE FROM nn_training" .. where .. ";",
      "UPDATE nn_training_epoch SET version_id = 1" .. where .. ";" }
  else
    return pick{
      "DELETE FROM nn_training_epoch" .. where .. "; DELETE FROM nn_training" .. where .. ";",
      "DELETE FROM nn_training_epoch; DELETE FROM nn_training;",
      -- to leaf_flower's version 1, saved without a run
      "UPDATE nn_training SET version_id = 1" .. where .. "; UPDATE nn_training_epoch"
        .. " SET version_id = 1" .. where .. ";" }
  end
end

-- One statement (or a few) that changes one stored fact; true after it when
-- the change renames a model (what neither a row's digest nor its model's
-- facts can see: an answer that changes then is counted, not failed).  Rows
-- deleted, renumbered or moved to another model are the model's facts' to
-- see (schema/005_model_facts.sql): judged as any other change.
local function changed_cell(cells)
  local v = pick(cells.versions)
  local m = pick(cells.maps)
  local where = " WHERE version_id = " .. v.id .. ";"
  local k = int(1, 14)
  if k >= 13 then
    return changed_run(cells)
  elseif k <= 3 then
    return "UPDATE nn_version SET arch = " .. sql_text(mutate_arch(v.arch)) .. where
  elseif k == 4 then
    local col = pick{ "n_inputs", "n_outputs", "n_params" }
    return ("UPDATE nn_version SET %s = %s%s"):format(col,
      pick{ tostring(v[col] + 1), tostring(v[col] - 1), "0", "-1", "4.5", "'4'", "NULL",
        "9223372036854775807", "16777217", "X'04'", "1e300" }, where)
  elseif k == 5 then
    local w = hex_bytes(v.weights)
    local which = int(1, 4)
    if which == 1 then w = F.flip_bits(w, int(1, 4))
    elseif which == 2 then w = w:sub(1, int(0, #w - 1))
    elseif which == 3 then w = w .. string.rep("\0", int(1, 8))
    else w = "" end
    return "UPDATE nn_version SET weights = X'" .. bytes_hex(w) .. "'" .. where
  elseif k == 6 then
    return "UPDATE nn_version SET checksum = " .. pick{ "'0000000000000000'", "NULL", "'x'",
      "upper(checksum)", "42" } .. where
  elseif k <= 8 then
    local labels = int(1, 3) == 1 and F.mutate_bytes(m.labels) or pick(LABELS)
    return "UPDATE nn_labelmap SET labels = " .. sql_text(labels)
      .. " WHERE labelmap_id = " .. m.id .. ";"
  elseif k == 9 then
    return pick{ "DELETE FROM nn_labelmap WHERE labelmap_id = " .. m.id .. ";",
      "DELETE FROM nn_labelmap WHERE labelmap_id = (SELECT max(labelmap_id) FROM nn_labelmap"
        .. " WHERE name = 'default' AND model_id = 1);",
      "DELETE FROM nn_labelmap WHERE model_id = 1 AND name = 'weather';",
      "UPDATE nn_labelmap SET name = 'default' WHERE labelmap_id = " .. m.id .. ";",
      "UPDATE nn_labelmap SET model_id = 3 - model_id WHERE labelmap_id = " .. m.id .. ";",
      "UPDATE nn_labelmap SET labelmap_id = 99 WHERE labelmap_id = " .. m.id .. ";",
      "DELETE FROM nn_version" .. where,
      "DELETE FROM nn_version WHERE version_id = (SELECT max(version_id) FROM nn_version"
        .. " WHERE model_id = 1);",
      "DELETE FROM nn_training WHERE version_id = (SELECT max(version_id) FROM nn_training);",
      "UPDATE nn_version SET version = 3 - version" .. where,
      "UPDATE nn_version SET model_id = 3 - model_id" .. where }
  elseif k == 10 then
    return pick{ "UPDATE nn_model SET name = 'wide' WHERE name = 'leaf_flower';",
      "UPDATE nn_model SET name = 'leaf_flower' WHERE name = 'wide';",
      "UPDATE nn_model SET name = 'leaf_flower ' WHERE name = 'leaf_flower';",
      "DELETE FROM nn_model WHERE name = 'wide';" }, true
  elseif k == 11 then
    return pick{ "PRAGMA user_version = -1;", "PRAGMA user_version = 0;",
      "PRAGMA user_version = 999;", "PRAGMA application_id = 0;",
      "DROP TABLE nn_feedback;", "DROP VIEW nn_accuracy;",
      "ALTER TABLE nn_version DROP COLUMN note;",
      "ALTER TABLE nn_labelmap RENAME COLUMN labels TO labels2;",
      "DROP INDEX nn_labelmap_by_model;", "DELETE FROM sqlite_sequence;" }
  else
    -- STRICT removed by hand, so that any type goes into any column
    return "PRAGMA writable_schema = ON;\n"
      .. "UPDATE sqlite_schema SET sql = replace(sql, ') STRICT', ')') "
      .. "WHERE type = 'table';\nPRAGMA writable_schema = OFF;\n.open FILE\n"
      .. "PRAGMA ignore_check_constraints = ON;\n"
      .. ("UPDATE nn_version SET %s = %s%s"):format(pick{ "n_inputs", "n_outputs", "n_params" },
        pick{ "4.5", "'4'", "X'04'", "4.0", "2.0" }, where)
  end
end

-- The sqlite3 shell script of a case: triggers dropped, checks off, 1 to 3
-- changes; and whether one of them moved or deleted rows.
local function sql_case(cells, path)
  local lines, moved = { "PRAGMA ignore_check_constraints = ON;" }, false
  for _, name in ipairs(cells.triggers) do lines[#lines + 1] = "DROP TRIGGER " .. name .. ";" end
  for _ = 1, int(1, 3) do
    local statement, rows_moved = changed_cell(cells)
    lines[#lines + 1] = statement
    moved = moved or rows_moved == true
  end
  return (table.concat(lines, "\n") .. "\n"):gsub("FILE", path), moved
end

-- mode: "file" (nn.open) or "bytes" (nn.open_bytes).
local function fuzz(t, n, from, mode)
  local s = F.settings
  local valid_path = s.dir .. "/db-valid.db"
  local answers, cells = make_valid(valid_path)
  local answers_file = s.dir .. "/db-answers.lua"
  local out = { "return { models = " }
  local function dump(v)
    if type(v) == "table" then
      local parts = {}
      for k, x in pairs(v) do parts[#parts + 1] = "[" .. dump(k) .. "] = " .. dump(x) end
      table.sort(parts)
      return "{ " .. table.concat(parts, ", ") .. " }"
    end
    return type(v) == "string" and ("%q"):format(v) or tostring(v)
  end
  out[#out + 1] = dump(MODELS) .. ", answers = " .. dump(answers) .. " }\n"
  F.write(answers_file, table.concat(out))
  local valid = F.read(valid_path)
  local path = s.dir .. "/db-case.db"
  local child = ("%s spec/fuzz/db_child.lua %s %s %s"):format(s.lua, F.shell_quote(path),
    F.shell_quote(answers_file), mode)
  for i = from, from + n - 1 do
    math.randomseed(F.case_seed(mode == "bytes" and "bytes" or "db", i))
    F.remove_db(path)
    -- moved: the case may have renamed a model (SQL that does so, or raw
    -- bytes: a flipped bit may rename a model too), which nothing stored
    -- can tell from a model saved under that name; a changed answer is
    -- then counted, not failed
    local what, moved = nil, true
    if int(1, 2) == 1 then
      local bytes
      if int(1, 2) == 1 then
        bytes, what = F.flip_bits(valid, int(1, 16)), "bit flips"
      else
        bytes, what = F.mutate_bytes(valid)
      end
      F.write(path, bytes)
    else
      F.write(path, valid)
      what, moved = sql_case(cells, path)
      local script = s.dir .. "/db-case.sql"
      F.write(script, what)
      os.execute(("%s -batch %s < %s > /dev/null 2>&1"):format(s.sqlite3,
        F.shell_quote(path), F.shell_quote(script)))
    end
    local before = F.read(path)
    if mode == "bytes" and #before > 20 and int(1, 2) == 1 then
      local v = string.char(int(1, 2))   -- the journal: 1 rollback, 2 WAL
      before = before:sub(1, 18) .. v .. v .. before:sub(21)
      F.write(path, before)
    end
    local how, code, text = F.run(child)
    local files = { db = before, txt = what }
    t.judge(i, how, code, text, files, moved)
    if how == "exit" and text:find("^ERR open") and F.read(path) ~= before then
      t.fail(i, "nn.open refused the file, but changed it", files)
    end
  end
  F.remove_db(path)
end

return setmetatable({ make_valid = make_valid, MODELS = MODELS, fuzz = fuzz },
  { __call = function(_, t, n, from) return fuzz(t, n, from, "file") end })
