--- The digests src/formats/nn_digest.c lays out (schema/003_digests.sql,
-- 004_training_digests.sql and 008_digests_by_name.sql), computed without nn: the byte layouts written out here in Lua,
-- hashed by coreutils' sha256sum.

local compat = require "spec.support.compat"

local digest = {}

--- SHA-256 of the file at path as 64 lowercase hex digits, by sha256sum;
-- nil when there is no such file.
function digest.file(path)
  local p = assert(io.popen("sha256sum " .. path .. " 2>/dev/null"))
  local out = p:read("*a")
  p:close()
  return out:match("^(%x+)")
end

--- SHA-256 of s.
function digest.sha256(s)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
  local hex = digest.file(path)
  os.remove(path)
  return (assert(hex, "sha256sum failed"))
end

--- How a digest names its model: layout 2 (schema 8 on) by its name,
-- m.model; layout 1 (before) by its id in its store, m.model_id.
local function head(kind, m, layout)
  if layout == 1 then return ("%s\n%d\n"):format(kind, m.model_id) end
  assert(type(m.model) == "string", "the row needs its model's name as .model")
  return ("%s 2\n%d\n"):format(kind, #m.model) .. m.model
end

--- The digest of an nn_version row (a table of its columns, and its
-- model's name as .model); layout 1 when layout is 1.
function digest.version(v, layout)
  return digest.sha256(head("nn_version", v, layout) .. ("%d\n%d\n%d\n%d\n%d\n"):format(
    v.version, v.n_inputs, v.n_outputs, v.n_params, #v.arch) .. v.arch .. v.weights)
end

--- The digest of an nn_labelmap row (and .model).
function digest.labelmap(m, layout)
  return digest.sha256(head("nn_labelmap", m, layout) .. ("%d\n"):format(#m.name) .. m.name
    .. ("%d\n"):format(#m.labels) .. m.labels)
end

--- A REAL of the training layout: its binary64 bits as 16 hex digits (-0
-- as 0), or "-" for NULL (nil); then a newline.
local function real(v)
  if v == nil then return "-\n" end
  if v == 0 then v = 0 end
  return (compat.pack(">d", v):gsub(".", function(c) return ("%02x"):format(c:byte()) end))
    .. "\n"
end

--- The digest of an nn_training row (a table of its columns, with the
-- version of its version and its model's name as .model, or its model_id
-- for layout 1) and its nn_training_epoch rows, in epoch order.
function digest.training(t, epochs, layout)
  local parts = {
    head("nn_training", t, layout) .. ("%d\n%d\n%d\n"):format(t.version, t.rows, t.epochs),
    t.best_epoch and ("%d\n"):format(t.best_epoch) or "-\n",
    ("%d\n%d\n%d\n"):format(t.started_at, t.ended_at, #t.stopped), t.stopped,
    ("%d\n"):format(#t.options), t.options,
    t.source and ("%d\n"):format(#t.source) .. t.source or "-\n",
  }
  for _, e in ipairs(epochs) do
    parts[#parts + 1] = ("%d\n"):format(e.epoch) .. real(e.loss) .. real(e.val_loss)
      .. real(e.val_accuracy) .. real(e.ms)
  end
  return digest.sha256(table.concat(parts))
end

return digest
