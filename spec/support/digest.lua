--- The digests schema/003_digests.sql describes, computed without nn: the
-- byte layout written out here in Lua, hashed by coreutils' sha256sum.

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

return digest
