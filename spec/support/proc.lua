--- Running programs from the specs: the Lua interpreter the child
-- processes use, and a shell command whose output a spec reads.

local proc = {}

--- The interpreter for child processes: $LUA, or lua5.4.
proc.LUA = os.getenv("LUA") or "lua5.4"

--- Run a shell command; its standard output and error together.  Raises,
-- with that output, when the command fails.
function proc.run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  assert(ok, cmd .. " failed:\n" .. out)
  return out
end

return proc
