--- Running part of a spec as a user without root, whoever owns the clone
-- and wherever it lives: a clone in a private folder (root's home, a
-- `mktemp -d` folder, mode 0700) is out of that user's reach, so what it
-- must read, run or load is copied first into a folder it can read.
-- Used by spec/install_spec.lua and spec/readonly_spec.lua.

local compat = require "spec.support.compat"

local user = {}

--- The command prefix that runs a command as a user without root: "" when
-- this process is not root (it is such a user), nil when root has no
-- unprivileged user 'nobody' to run it as.
function user.prefix()
  if compat.sh("id -u") ~= "0\n" then return "" end
  if compat.execute("id nobody >/dev/null 2>&1") then return "runuser -u nobody -- " end
end

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- A fresh folder under /tmp that every user may enter and read, holding
-- a copy of each of paths (relative to the top of the clone: files, and
-- folders with all they hold), links followed and times kept (so that make
-- finds a copied build up to date), leaving out any path that matches one
-- of except (tar's --exclude patterns).  The caller removes it.
function user.readable_copy(paths, except)
  local dir = compat.sh("mktemp -d /tmp/nn-spec-XXXXXX"):gsub("\n$", "")
  local words = {}
  for _, pattern in ipairs(except or {}) do words[#words + 1] = "--exclude=" .. quote(pattern) end
  for _, path in ipairs(paths) do words[#words + 1] = quote(path) end
  compat.sh(("tar -chf - %s | tar -C %s -xf - && chmod -R a+rX %s")
    :format(table.concat(words, " "), quote(dir), quote(dir)))
  return dir
end

--- The build's subfolders that nothing run as that user needs (the
-- sanitized tree, fuzzing's cases, benchmarks, ONNX Runtime): left out of
-- a copy of the build.
function user.build_extras(build)
  local list = {}
  for _, name in ipairs{ "asan", "fuzz", "bench", "onnxruntime", "check-onnx" } do
    list[#list + 1] = build .. "/" .. name
  end
  return list
end

return user
