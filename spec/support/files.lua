--- Files the specs write and read back whole, as bytes.

local files = {}

--- Write bytes to path, replacing what was there.
function files.write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

--- The bytes of the file at path.
function files.read(path)
  local f = assert(io.open(path, "rb"))
  local bytes = f:read("*a")
  f:close()
  return bytes
end

return files
