--- A private PostgreSQL 15 server for the specs that need one: `initdb`
-- into a fresh `mktemp -d` folder, started with its Unix socket in that
-- folder and no TCP at all (listen_addresses empty), stopped and removed
-- by `server:stop()`.  PostgreSQL refuses to run as root, so when the
-- specs run as root (CI does) the server runs as the unprivileged user
-- 'nobody', who owns the folder.
--
--   local pg = require "spec.support.pg"
--   local server = pg.start()            -- raises when no server can start
--   local url = server:url()             -- postgresql:///postgres?host=...&user=nn
--   server:sql("CREATE DATABASE other")  -- psql, as the superuser nn
--   server:stop()                        -- safe to call twice
--
-- A spec stops its server in busted's `teardown`, which runs even when a
-- test failed.  As a guard against a server left behind when the spec run
-- itself dies (a crash, a kill), each server has a watchdog: a shell that
-- stops it and removes its folder once the Lua process that started it is
-- gone.  The binaries come from `pg_config --bindir` (Debian's
-- /usr/lib/postgresql/15/bin), never from anywhere on PATH.  They, and
-- psql, run without LD_PRELOAD: under make asan the sanitizers' runtime is
-- preloaded for the specs' own process, not for a server it starts.

local compat = require "spec.support.compat"
local user = require "spec.support.user"

local pg = {}

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- The folder of PostgreSQL's server binaries (initdb, pg_ctl), or nil and
-- why not.
function pg.bindir()
  local ok, out = compat.run("pg_config --bindir")
  local dir = ok and out:match("^(%S+)\n?$")
  if dir and compat.execute("test -x " .. quote(dir .. "/initdb")) then return dir end
  local debian = "/usr/lib/postgresql/15/bin"
  if compat.execute("test -x " .. debian .. "/initdb") then return debian end
  return nil, "no PostgreSQL server binaries (postgresql-15) found"
end

local Server = {}
Server.__index = Server

--- The libpq connection string of database db (default "postgres") on
-- this server, as the superuser nn, through its socket.
function Server:url(db)
  return ("postgresql:///%s?host=%s&user=nn"):format(db or "postgres", self.dir)
end

--- Run sql through psql on database db (default "postgres"); everything
-- it printed.  Raises when psql fails.
function Server:sql(sql, db)
  return compat.sh(("env -u LD_PRELOAD psql -X -q -A -t -v ON_ERROR_STOP=1 %s -c %s")
    :format(quote(self:url(db)), quote(sql)))
end

--- Whether the server answers.
function Server:running()
  return compat.execute(("%s%s/pg_ctl status -D %s >/dev/null 2>&1")
    :format(self.as, self.bin, quote(self.dir .. "/data")))
end

--- Stop the server now (what a crash of the server looks like to a
-- client), keeping its files, so that start_again can bring it back.
function Server:kill()
  compat.run(("%s%s/pg_ctl stop -D %s -m immediate -w")
    :format(self.as, self.bin, quote(self.dir .. "/data")))
end

--- Start it again after kill.
function Server:start_again()
  compat.sh(("%s%s/pg_ctl start -D %s -l %s -w -o %s")
    :format(self.as, self.bin, quote(self.dir .. "/data"), quote(self.dir .. "/log"),
            quote(("-c listen_addresses='' -c unix_socket_directories='%s' -c fsync=off")
                  :format(self.dir))))
end

--- Stop the server and remove its folder.  Safe to call twice.
function Server:stop()
  if not self.dir then return end
  self:kill()
  compat.run("rm -rf " .. quote(self.dir))
  self.dir = nil
end

-- The watchdog: once the Lua process that runs this shell ($PPID) is gone,
-- stop the server and remove its folder.  Its output goes nowhere, so that
-- io.popen, which waits for the end of its output, does not wait for it.
local function watch(server)
  local stop = ("%s%s/pg_ctl stop -D %s -m immediate"):format(
    server.as, server.bin, quote(server.dir .. "/data"))
  compat.sh(("p=$PPID; ( while kill -0 $p 2>/dev/null; do sleep 1; done; %s; rm -rf %s ) " ..
             ">/dev/null 2>&1 </dev/null &"):format(stop, quote(server.dir)))
end

--- A new server, started and ready, with a superuser nn that needs no
-- password on its socket.  Raises, naming what failed, when none can
-- start.
function pg.start()
  local bin = assert(pg.bindir())
  local as = user.prefix()
  assert(as, "running as root without a user 'nobody' to run PostgreSQL as")
  as = as .. "env -u LD_PRELOAD "
  local dir = compat.sh("mktemp -d"):gsub("\n$", "")
  local server = setmetatable({ dir = dir, bin = bin, as = as }, Server)
  if as ~= "" then compat.sh("chown nobody " .. quote(dir)) end
  local ok, out = compat.run(("%s%s/initdb -D %s -U nn --auth=trust --no-locale -E UTF8 -N")
    :format(as, bin, quote(dir .. "/data")))
  if not ok then
    compat.run("rm -rf " .. quote(dir))
    error("initdb failed:\n" .. out)
  end
  watch(server)
  ok, out = pcall(server.start_again, server)
  if not ok then
    server:stop()
    error(out)
  end
  return server
end

--- What schema/pg/005_digests_by_name.sql does to a store, undone (SQL for
-- psql, its tables in schema s, or on the search path when s is nil): every digest laid out over the model_id
-- again, as an older nn wrote it (with the schema's own functions, before
-- they are dropped), the rename trigger and the functions dropped.
function pg.undo_digests_by_name(s)
  local sql = "; ALTER TABLE %s.nn_version DISABLE TRIGGER USER;"
    .. " ALTER TABLE %s.nn_labelmap DISABLE TRIGGER USER;"
    .. " ALTER TABLE %s.nn_training DISABLE TRIGGER USER;"
    .. " UPDATE %s.nn_version SET digest = %s.nn_version_digest_at(%s.nn_digest_head("
    .. "'nn_version', NULL, model_id), version, arch, n_inputs, n_outputs, n_params, weights);"
    .. " UPDATE %s.nn_labelmap SET digest = %s.nn_labelmap_digest_at(%s.nn_digest_head("
    .. "'nn_labelmap', NULL, model_id), name, labels);"
    .. " UPDATE %s.nn_training AS t SET digest = %s.nn_training_digest_at(%s.nn_digest_head("
    .. "'nn_training', NULL, v.model_id), t.version_id, v.version, t.options, t.rows,"
    .. " t.epochs, t.best_epoch, t.stopped, t.source, t.started_at, t.ended_at)"
    .. " FROM %s.nn_version AS v WHERE v.version_id = t.version_id;"
    .. " ALTER TABLE %s.nn_version ENABLE TRIGGER USER;"
    .. " ALTER TABLE %s.nn_labelmap ENABLE TRIGGER USER;"
    .. " ALTER TABLE %s.nn_training ENABLE TRIGGER USER;"
    .. " DROP TRIGGER nn_model_no_rename ON %s.nn_model;"
    .. " DROP FUNCTION %s.nn_refuse_rename, %s.nn_version_digest, %s.nn_labelmap_digest,"
    .. " %s.nn_training_digest, %s.nn_version_digest_at, %s.nn_labelmap_digest_at,"
    .. " %s.nn_training_digest_at, %s.nn_digest_head, %s.nn_digest_text, %s.nn_digest_real"
  return (sql:gsub("%%s%.", s and s .. "." or ""))
end

return pg
