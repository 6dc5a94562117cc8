--- Running programs from the specs: the Lua interpreter the child
-- processes use, and a shell command whose output a spec reads.

local proc = {}

--- The interpreter for child processes: $LUA, or lua5.4.
proc.LUA = os.getenv("LUA") or "lua5.4"

--- Run a shell command: whether it succeeded, and its standard output and
-- error together.
function proc.try(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  return p:close() == true, out
end

--- The same, raising with that output when the command fails; the output.
function proc.run(cmd)
  local ok, out = proc.try(cmd)
  assert(ok, cmd .. " failed:\n" .. out)
  return out
end

return proc
