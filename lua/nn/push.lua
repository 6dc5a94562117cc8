--- nn.push: versions and logs that travel between stores, as methods of
-- every store.
--
--   local n = store:push("postgresql://nn@db.example/games")  -- or another open store
--   local n = store:pull(other)          -- the same, from other into store
--   --> { versions = 1, labelmaps = 2, runs = 1, predictions = 1000, feedback = 10 }
--
-- What travels: every version (its bytes as they are; loaded from the source
-- with its digest checked, so a version that does not verify is refused by
-- name, and saved in the destination), its training run, every label map,
-- and the prediction log with its feedback.  Digests travel unchanged: they
-- cover the model's name, never a store's own ids (src/formats/nn_digest.c),
-- so the destination's save computes the source's digest byte for byte, and
-- each version, run and map is checked against it on arrival (a difference
-- is an error naming the version or map).  A version already there must be
-- the same bytes and digest (versions never change); one that is not there
-- must be the next of its model.
--
-- Each row once: every store has an id (nn_meta's store_id).  A log row that
-- arrives records where it came from (origin, origin_id: the store it was
-- made in and its id there, kept as it travels on), the pair unique; the
-- destination keeps, per source store, the largest id it has taken
-- (nn_push_mark), written in the transaction that takes the rows.  The log
-- goes in chunks, one transaction each: a push cut off anywhere and repeated
-- starts after the last chunk that committed, and a second push sends
-- nothing.  Rows the destination made itself never come back to it.
--
-- Two pushes at once into one store: on PostgreSQL the versions pass holds
-- an advisory lock and each chunk locks its mark (SELECT ... FOR UPDATE); on
-- SQLite each chunk is one BEGIN IMMEDIATE, and a version or label map that
-- another push wrote first is seen, not written twice (a temporary trigger
-- refuses the second write, and the pass looks again).
--
-- This file runs SQL through store:rows only; the C store does every write
-- of a version, label map and run (store:save, store:add_labels).

local core = require "nn.core"

local push = {}

local format, concat, unpack = string.format, table.concat, table.unpack or unpack

-- The chunk of log rows one transaction takes, and the rows one INSERT
-- carries (13 parameters each, within what every Lua passes as arguments).
local CHUNK = 1000
local INSERT_ROWS = 200

local function rows(store, sql, ...)
  local list = {}
  for row in store:rows(sql, ...) do list[#list + 1] = row end
  return list
end

local function one(store, sql, ...)
  return rows(store, sql, ...)[1]
end

local function exec(store, sql, ...)
  for _ in store:rows(sql, ...) do end
end

-- A failure of the push: "push: " and what, raised at the caller's level.
local function fail(fmt, ...)
  error("push: " .. format(fmt, ...), 0)
end

-- f(...), its one value; its error a failure of the push.
local function checked(f, ...)
  local ok, v = pcall(f, ...)
  if not ok then fail("%s", (tostring(v):gsub("^[^:\n]*:%d+: ", ""))) end
  return v
end

-- --- the stores ------------------------------------------------------------

-- The store a push uses for arg (an open store, or a path or URL opened
-- here: a source read-only, so that a path that is not there is an error
-- rather than a new file), and whether it opened it.
local function store_of(arg, role)
  if type(arg) == "string" then
    local store, msg, code = core.open(arg, role == "source" and { readonly = true } or nil)
    if not store then fail("%s %s: %s (%s)", role, arg, msg, tostring(code)) end
    return store, true
  end
  if getmetatable(arg) ~= push.Store then
    fail("%s must be a store, a path or a URL, not %s", role, type(arg))
  end
  return arg, false
end

-- "postgresql" or "sqlite", by the SQL the store's connection speaks.
local function engine(store)
  local ok = pcall(exec, store, "SELECT sqlite_version()")
  return ok and "sqlite" or "postgresql"
end

-- The first schema of a file whose digests cover the model's name
-- (schema/008_digests_by_name.sql): an older one's differ from any other
-- store's, and would not arrive unchanged.
local DIGESTS_BY_NAME = 8

local function store_id(store, role, kind)
  local ok, row = pcall(one, store, "SELECT value FROM nn_meta WHERE key = 'store_id'")
  if not ok or not row then
    fail("the %s has no store id: a file of an older nn opened read-only (open it "
      .. "once writable to migrate it)", role)
  end
  if kind == "sqlite" and one(store, "PRAGMA user_version").user_version < DIGESTS_BY_NAME then
    fail("the %s's digests cover its own model ids: a file of an older nn opened "
      .. "read-only (open it once writable to migrate it)", role)
  end
  return row.value
end

-- --- versions, runs and label maps --------------------------------------------

local VERSION_SQL = "SELECT v.version_id, v.arch, v.weights, v.note, v.digest FROM nn_version"
  .. " AS v JOIN nn_model AS m ON m.model_id = v.model_id WHERE m.name = $1 AND v.version = $2"
local RUN_SQL = "SELECT t.digest FROM nn_training AS t JOIN nn_version AS v"
  .. " ON v.version_id = t.version_id JOIN nn_model AS m ON m.model_id = v.model_id"
  .. " WHERE m.name = $1 AND v.version = $2"

-- The destination's guard against a second writer of the same version or
-- map: on SQLite a temporary trigger refuses a write the push does not
-- expect; on PostgreSQL an advisory lock on the store's schema.
local function guard(p)
  if p.dst_engine == "postgresql" then
    exec(p.dst, "SELECT pg_advisory_lock(hashtext('nn push ' || current_schema()))")
    return
  end
  exec(p.dst, "CREATE TEMP TABLE IF NOT EXISTS nn_push_expect (what TEXT, version INTEGER)")
  exec(p.dst, "DELETE FROM temp.nn_push_expect")
  exec(p.dst, "CREATE TEMP TRIGGER IF NOT EXISTS nn_push_version BEFORE INSERT ON"
    .. " main.nn_version WHEN EXISTS (SELECT 1 FROM temp.nn_push_expect WHERE what ="
    .. " 'version' AND version <> NEW.version) BEGIN SELECT RAISE(ABORT,"
    .. " 'nn push: another writer saved this version first'); END")
  exec(p.dst, "CREATE TEMP TRIGGER IF NOT EXISTS nn_push_labelmap BEFORE INSERT ON"
    .. " main.nn_labelmap WHEN EXISTS (SELECT 1 FROM temp.nn_push_expect WHERE what ="
    .. " 'labelmap') AND EXISTS (SELECT 1 FROM main.nn_labelmap AS l WHERE l.model_id ="
    .. " NEW.model_id AND l.name = NEW.name AND l.labels = NEW.labels) BEGIN SELECT"
    .. " RAISE(ABORT, 'nn push: another writer added this label map first'); END")
end

local function unguard(p)
  if p.dst_engine == "postgresql" then
    pcall(exec, p.dst, "SELECT pg_advisory_unlock(hashtext('nn push ' || current_schema()))")
  else
    pcall(exec, p.dst, "DROP TRIGGER IF EXISTS temp.nn_push_version")
    pcall(exec, p.dst, "DROP TRIGGER IF EXISTS temp.nn_push_labelmap")
    pcall(exec, p.dst, "DROP TABLE IF EXISTS temp.nn_push_expect")
  end
end

local function expect(p, what, version)
  if p.dst_engine ~= "sqlite" then return end
  exec(p.dst, "DELETE FROM temp.nn_push_expect")
  if what then exec(p.dst, "INSERT INTO temp.nn_push_expect VALUES ($1, $2)", what, version) end
end

-- Whether the destination holds version v of name; raises when it holds
-- other bytes under that number, or a digest other than the source's.
local function have_version(p, name, v, src_row)
  local row = one(p.dst, VERSION_SQL, name, v)
  if not row then return false end
  if row.arch ~= src_row.arch or row.weights ~= src_row.weights then
    fail("model '%s' version %d differs between the source and the destination: a "
      .. "version is never changed", name, v)
  end
  if row.digest ~= src_row.digest then
    fail("model '%s' version %d: its digest is %s in the source and %s in the destination:"
      .. " a digest travels unchanged", name, v, tostring(src_row.digest), tostring(row.digest))
  end
  return true
end

-- The run of version v of name arrived with the source's digest.
local function check_run(p, name, v)
  local a, b = one(p.src, RUN_SQL, name, v), one(p.dst, RUN_SQL, name, v)
  if (a and a.digest) ~= (b and b.digest) then
    fail("model '%s' version %d: its training run's digest is %s in the source and %s in"
      .. " the destination: a digest travels unchanged", name, v,
      tostring(a and a.digest), tostring(b and b.digest))
  end
end

-- Version v of name into the destination, its run with it.
local function copy_version(p, name, v, src_row)
  local net = checked(p.src.load, p.src, name, v)
  local run = checked(p.src.history, p.src, name, v)
  local last = one(p.dst, "SELECT max(v.version) AS n FROM nn_version AS v JOIN nn_model"
    .. " AS m ON m.model_id = v.model_id WHERE m.name = $1", name)
  last = last and last.n or 0
  if last ~= v - 1 and have_version(p, name, v, src_row) then return end  -- written meanwhile
  if last ~= v - 1 then
    fail("model '%s' version %d: the destination's latest version is %d, so it would "
      .. "not be %d there", name, v, last, v)
  end
  expect(p, "version", v)
  local ok, got = pcall(p.dst.save, p.dst, name, net, { note = src_row.note, training = run })
  expect(p, nil)
  if not ok then
    if have_version(p, name, v, src_row) then return end   -- another push wrote it
    fail("model '%s' version %d: %s", name, v, tostring(got):gsub("^[^:\n]*:%d+: ", ""))
  end
  if not have_version(p, name, v, src_row) then
    fail("model '%s' version %d arrived as version %d", name, v, got)
  end
  check_run(p, name, v)
  p.n.versions = p.n.versions + 1
  if run then p.n.runs = p.n.runs + 1 end
end

local function copy_versions(p)
  for _, ref in ipairs(rows(p.src, "SELECT m.name, v.version FROM nn_version AS v"
      .. " JOIN nn_model AS m ON m.model_id = v.model_id ORDER BY v.version_id")) do
    local src_row = one(p.src, VERSION_SQL, ref.name, ref.version)
    if not have_version(p, ref.name, ref.version, src_row) then
      copy_version(p, ref.name, ref.version, src_row)
    end
  end
end

local LABELMAPS_SQL = "SELECT l.labelmap_id, m.name AS model, l.name, l.labels, l.digest"
  .. " FROM nn_labelmap AS l JOIN nn_model AS m ON m.model_id = l.model_id"

local function map_key(row)
  return row.model .. "\0" .. row.name .. "\0" .. row.labels
end

-- The labels of a map, from the JSON array of strings nn wrote; raises
-- naming what when the text is anything else.
local ESCAPES = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n",
  r = "\r", t = "\t" }

local function utf8_of(c)
  if c < 0x80 then return string.char(c) end
  if c < 0x800 then return string.char(0xC0 + math.floor(c / 64), 0x80 + c % 64) end
  if c < 0x10000 then
    return string.char(0xE0 + math.floor(c / 4096), 0x80 + math.floor(c / 64) % 64,
      0x80 + c % 64)
  end
  return string.char(0xF0 + math.floor(c / 262144), 0x80 + math.floor(c / 4096) % 64,
    0x80 + math.floor(c / 64) % 64, 0x80 + c % 64)
end

local function json_strings(text, what)
  local list, i = {}, text:match("^%s*%[%s*()")
  local function bad() fail("%s: its labels are not a JSON array of strings", what) end
  if not i then bad() end
  if text:match("^%]%s*$", i) then return list end
  while true do
    if text:sub(i, i) ~= '"' then bad() end
    local parts, j = {}, i + 1
    while true do
      local k = text:find('["\\]', j)
      if not k then bad() end
      parts[#parts + 1] = text:sub(j, k - 1)
      if text:sub(k, k) == '"' then j = k + 1 break end
      local e = text:sub(k + 1, k + 1)
      if e == "u" then
        local c = tonumber(text:sub(k + 2, k + 5), 16) or bad()
        j = k + 6
        local lo = c >= 0xD800 and c < 0xDC00 and text:match("^\\u(%x%x%x%x)", j)
        if lo then
          c = 0x10000 + (c - 0xD800) * 1024 + (tonumber(lo, 16) - 0xDC00)
          j = j + 6
        end
        parts[#parts + 1] = utf8_of(c)
      else
        parts[#parts + 1] = ESCAPES[e] or bad()
        j = k + 2
      end
    end
    list[#list + 1] = concat(parts)
    local sep, after = text:match("^%s*([,%]])%s*()", j)
    if not sep then bad() end
    if sep == "]" then
      if after <= #text then bad() end
      return list
    end
    i = after
  end
end

-- The destination's label maps by model, name and labels: the newest id,
-- and its digest.
local function dst_maps(p)
  local maps, digests = {}, {}
  for _, row in ipairs(rows(p.dst, LABELMAPS_SQL .. " ORDER BY l.labelmap_id")) do
    maps[map_key(row)] = row.labelmap_id
    digests[map_key(row)] = row.digest
  end
  return maps, digests
end

-- Every label map of the source that the destination lacks, in the
-- source's order; the map of source labelmap_id to the destination's.
local function copy_labelmaps(p)
  local have, digests = dst_maps(p)
  local ids = {}
  for _, row in ipairs(rows(p.src, LABELMAPS_SQL .. " ORDER BY l.labelmap_id")) do
    local key = map_key(row)
    if not have[key] then
      local labels = json_strings(row.labels, format("model '%s' label map '%s'",
        row.model, row.name))
      expect(p, "labelmap")
      local ok, err = pcall(p.dst.add_labels, p.dst, row.model, row.name, labels)
      expect(p, nil)
      have, digests = dst_maps(p)
      if not ok and not have[key] then
        fail("model '%s' label map '%s': %s", row.model, row.name,
          tostring(err):gsub("^[^:\n]*:%d+: ", ""))
      end
    end
    if digests[key] ~= row.digest then
      fail("model '%s' label map '%s': its digest is %s in the source and %s in the"
        .. " destination: a digest travels unchanged", row.model, row.name,
        tostring(row.digest), tostring(digests[key]))
    end
    ids[row.labelmap_id] = have[key]
  end
  return ids
end

-- The map of the source's version_id to the destination's.
local function version_ids(p)
  local by_ref, ids = {}, {}
  local sql = "SELECT v.version_id, m.name, v.version FROM nn_version AS v"
    .. " JOIN nn_model AS m ON m.model_id = v.model_id"
  for _, row in ipairs(rows(p.dst, sql)) do
    by_ref[row.name .. "\0" .. row.version] = row.version_id
  end
  for _, row in ipairs(rows(p.src, sql)) do
    ids[row.version_id] = by_ref[row.name .. "\0" .. row.version]
  end
  return ids
end

-- --- the log ------------------------------------------------------------------

local PG_TYPES = { prediction_id = "bigint", feedback_id = "bigint", ts = "bigint",
  version_id = "bigint", labelmap_id = "bigint", prediction = "bigint", pred_idx = "bigint",
  true_idx = "bigint", origin_id = "bigint", score = "double precision", input = "jsonb",
  output = "jsonb", tags = "jsonb" }
local SQLITE_JSON = { input = true, output = true, tags = true }

-- INSERT of n rows of cols into tbl, in the destination's SQL: a row whose
-- origin and origin_id are there already is left as it is.
local function insert_sql(p, tbl, cols, n)
  local values, k = {}, 0
  for r = 1, n do
    local row = {}
    for c, col in ipairs(cols) do
      k = k + 1
      if p.dst_engine == "postgresql" then
        row[c] = format("$%d::%s", k, PG_TYPES[col] or "text")
      else
        row[c] = format(SQLITE_JSON[col] and "json($%d)" or "$%d", k)
      end
    end
    values[r] = "(" .. concat(row, ", ") .. ")"
  end
  return format("INSERT INTO %s (%s) VALUES %s ON CONFLICT (origin, origin_id)"
    .. " WHERE origin IS NOT NULL DO NOTHING",
    tbl, concat(cols, ", "), concat(values, ", "))
end

-- The rows of list (each a list of values in the order of cols) into tbl,
-- INSERT_ROWS a statement; on PostgreSQL each row takes an id from the
-- blocks of 1024 that idseq hands out, as the log's own writes do.
local function insert_rows(p, tbl, idcol, idseq, cols, list)
  if p.dst_engine == "postgresql" then
    local all, base = { idcol }, nil
    for i, col in ipairs(cols) do all[i + 1] = col end
    for i, row in ipairs(list) do
      if (i - 1) % 1024 == 0 then
        base = one(p.dst, format("SELECT nextval('%s') AS n", idseq)).n
      end
      table.insert(row, 1, base + (i - 1) % 1024)
    end
    cols = all
  end
  local ncols = #cols
  for first = 1, #list, INSERT_ROWS do
    local last = math.min(first + INSERT_ROWS - 1, #list)
    local args, k = {}, 0
    for r = first, last do
      for c = 1, ncols do args[k + c] = list[r][c] end
      k = k + ncols
    end
    exec(p.dst, insert_sql(p, tbl, cols, last - first + 1), unpack(args, 1, k))
  end
end

local function begin(p)
  exec(p.dst, p.dst_engine == "sqlite" and "BEGIN IMMEDIATE" or "BEGIN")
end

-- The destination's mark for what from this source, locked until commit.
local function read_mark(p, what)
  exec(p.dst, "INSERT INTO nn_push_mark (origin, what, last_id) VALUES ($1, $2, 0)"
    .. " ON CONFLICT DO NOTHING", p.src_id, what)
  return one(p.dst, "SELECT last_id FROM nn_push_mark WHERE origin = $1 AND what = $2"
    .. (p.dst_engine == "postgresql" and " FOR UPDATE" or ""), p.src_id, what).last_id
end

local function write_mark(p, what, last)
  exec(p.dst, "UPDATE nn_push_mark SET last_id = $1 WHERE origin = $2 AND what = $3",
    last, p.src_id, what)
end

-- One transaction of the destination around take(last): take returns the
-- new mark (nil: nothing more) and the rows it wrote.  Returns whether
-- there may be more.
local function chunk(p, what, take)
  begin(p)
  local ok, new, n = pcall(function()
    local last = read_mark(p, what)
    local new, n = take(last)
    if new and new > last then write_mark(p, what, new) end
    return new, n
  end)
  if ok then
    local committed, err = pcall(exec, p.dst, "COMMIT")
    if not committed then ok, new = false, err end
  end
  if not ok then   -- new: the error
    pcall(exec, p.dst, "ROLLBACK")
    error(new, 0)
  end
  if new and p.on_chunk then p.on_chunk(what, n) end
  return new ~= nil
end

local PRED_COLS = { "ts", "version_id", "labelmap_id", "input", "output", "pred_idx",
  "pred_label", "score", "request_id", "tags", "origin", "origin_id" }
local PRED_SQL = "SELECT prediction_id, ts, version_id, labelmap_id, input, output,"
  .. " pred_idx, pred_label, score, request_id, tags, origin, origin_id FROM nn_prediction"
  .. " WHERE prediction_id > $1 ORDER BY prediction_id LIMIT $2"

local function take_predictions(p, last)
  local got = rows(p.src, PRED_SQL, last, p.chunk)
  if #got == 0 then return nil, 0 end
  local list = {}
  for _, r in ipairs(got) do
    local origin, origin_id = r.origin or p.src_id, r.origin_id or r.prediction_id
    if origin ~= p.dst_id then
      local v = p.versions[r.version_id]
      local l = r.labelmap_id and p.maps[r.labelmap_id]
      if not v or (r.labelmap_id and not l) then
        fail("prediction %d: its %s is not in the destination", r.prediction_id,
          v and "label map" or "version")
      end
      list[#list + 1] = { r.ts, v, l, r.input, r.output, r.pred_idx, r.pred_label, r.score,
        r.request_id, r.tags, origin, origin_id }
    end
  end
  insert_rows(p, "nn_prediction", "prediction_id", "nn_prediction_ids", PRED_COLS, list)
  p.n.predictions = p.n.predictions + #list
  return got[#got].prediction_id, #list
end

local FB_COLS = { "prediction_id", "ts", "true_idx", "true_label", "origin", "origin_id" }
local FB_SQL = "SELECT f.feedback_id, f.prediction_id, f.ts, f.true_idx, f.true_label,"
  .. " f.origin, f.origin_id, p.origin AS p_origin, p.origin_id AS p_origin_id"
  .. " FROM nn_feedback AS f JOIN nn_prediction AS p ON p.prediction_id = f.prediction_id"
  .. " WHERE f.feedback_id > $1 ORDER BY f.feedback_id LIMIT $2"

-- The destination's id of the prediction made in store origin as origin_id,
-- or nil when it has not arrived.
local function local_prediction(p, origin, origin_id)
  if origin == p.dst_id then return origin_id end
  local row = one(p.dst, "SELECT prediction_id FROM nn_prediction WHERE origin = $1"
    .. " AND origin_id = $2", origin, origin_id)
  return row and row.prediction_id
end

-- Feedback up to the first row whose prediction has not arrived (logged
-- after the predictions' pass began): it comes with the next push.
local function take_feedback(p, last)
  local got = rows(p.src, FB_SQL, last, p.chunk)
  if #got == 0 then return nil, 0 end
  local list, new = {}, last
  for _, r in ipairs(got) do
    local origin, origin_id = r.origin or p.src_id, r.origin_id or r.feedback_id
    if origin ~= p.dst_id then
      local pid = local_prediction(p, r.p_origin or p.src_id, r.p_origin_id or r.prediction_id)
      if not pid then break end
      list[#list + 1] = { pid, r.ts, r.true_idx, r.true_label, origin, origin_id }
    end
    new = r.feedback_id
  end
  insert_rows(p, "nn_feedback", "feedback_id", "nn_feedback_ids", FB_COLS, list)
  p.n.feedback = p.n.feedback + #list
  if new == last then return nil, 0 end
  return new, #list
end

-- --- the push ---------------------------------------------------------------

local OPTIONS = { chunk = true, on_chunk = true }

local function check_options(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then fail("options must be a table, not %s", type(opts)) end
  for k in pairs(opts) do
    if not OPTIONS[k] then fail("unknown option '%s'", tostring(k)) end
  end
  local n = opts.chunk
  if n ~= nil and (type(n) ~= "number" or n < 1 or n ~= math.floor(n)) then
    fail("option 'chunk' must be a positive integer, not %s", tostring(n))
  end
  if opts.on_chunk ~= nil and type(opts.on_chunk) ~= "function" then
    fail("option 'on_chunk' must be a function")
  end
  return opts
end

local function run(p)
  p.src_engine, p.dst_engine = engine(p.src), engine(p.dst)
  p.src_id = store_id(p.src, "source", p.src_engine)
  p.dst_id = store_id(p.dst, "destination", p.dst_engine)
  if p.src_id == p.dst_id then fail("the source and the destination are one store") end
  local maps = "SELECT count(*) AS n FROM nn_labelmap"
  guard(p)
  local ok, err = pcall(function()
    local before = one(p.dst, maps).n
    copy_versions(p)
    p.maps = copy_labelmaps(p)
    p.n.labelmaps = one(p.dst, maps).n - before
  end)
  unguard(p)
  if not ok then error(err, 0) end
  p.versions = version_ids(p)
  while chunk(p, "prediction", function(last) return take_predictions(p, last) end) do end
  while chunk(p, "feedback", function(last) return take_feedback(p, last) end) do end
end

--- Copies what src holds and dst lacks into dst; src and dst are open
-- stores, or paths or URLs opened for the call.  Returns the counts of what
-- was written: { versions, labelmaps, runs, predictions, feedback }.
function push.push(src, dst, opts)
  opts = check_options(opts)
  local p = { chunk = opts.chunk or CHUNK, on_chunk = opts.on_chunk,
    n = { versions = 0, labelmaps = 0, runs = 0, predictions = 0, feedback = 0 } }
  local own_src, own_dst
  local ok, err = pcall(function()
    p.src, own_src = store_of(src, "source")
    p.dst, own_dst = store_of(dst, "destination")
    run(p)
  end)
  if own_src then pcall(p.src.close, p.src) end
  if own_dst then
    local closed, cerr = pcall(p.dst.close, p.dst)
    if ok and not closed then ok, err = false, cerr end
  end
  if not ok then
    err = tostring(err)
    if not err:find("^push: ") then err = "push: " .. err:gsub("^[^:\n]*:%d+: ", "") end
    error(err, 2)
  end
  return p.n
end

--- The methods of every store: store:push(dst [, opts]), store:pull(src [, opts]).
function push.install(Store)
  push.Store = Store
  Store.__index.push = function(self, dst, opts) return push.push(self, dst, opts) end
  Store.__index.pull = function(self, src, opts) return push.push(src, self, opts) end
end

return push
