--- Running programs from the specs, as the data and training specs name
-- it: the interpreter of child processes and a shell command's output, on
-- every Lua (through spec/support/compat.lua).

local compat = require "spec.support.compat"

local proc = {}

--- The interpreter for child processes: $LUA, or lua5.4.
proc.LUA = compat.LUA

--- Run a shell command: whether it succeeded, and its standard output and
-- error together.
function proc.try(cmd)
  local ok, out = compat.run(cmd)
  return ok, out
end

--- The same, raising with that output when the command fails; the output.
proc.run = compat.sh

return proc
