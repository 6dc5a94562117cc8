--- The digests schema/003_digests.sql and schema/004_training_digests.sql
-- describe, computed without nn: the byte layouts written out here in Lua,
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

--- The digest of an nn_version row (a table of its columns).
function digest.version(v)
  return digest.sha256(("nn_version\n%d\n%d\n%d\n%d\n%d\n%d\n"):format(v.model_id, v.version,
    v.n_inputs, v.n_outputs, v.n_params, #v.arch) .. v.arch .. v.weights)
end

--- The digest of an nn_labelmap row.
function digest.labelmap(m)
  return digest.sha256(("nn_labelmap\n%d\n%d\n"):format(m.model_id, #m.name) .. m.name
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
-- model_id and version of its version) and its nn_training_epoch rows, in
-- epoch order.
function digest.training(t, epochs)
  local parts = {
    ("nn_training\n%d\n%d\n%d\n%d\n"):format(t.model_id, t.version, t.rows, t.epochs),
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
