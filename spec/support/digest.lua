--- The digests schema/003_digests.sql describes, computed without nn: the
-- byte layout written out here in Lua, hashed by coreutils' sha256sum.

local digest = {}

--- SHA-256 of s as 64 lowercase hex digits, by sha256sum.
function digest.sha256(s)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
  local p = assert(io.popen("sha256sum " .. path))
  local out = p:read("a")
  p:close()
  os.remove(path)
  return (assert(out:match("^(%x+)"), "sha256sum: " .. out))
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
