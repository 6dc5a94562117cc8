--- What the fuzzers of spec/fuzz/ share: settings, seeded cases, child
-- processes under a time limit, byte mutations, and the tally each prints.
--
-- Not a fuzzer itself (see spec/fuzz/run.lua) and not a spec: `make test`
-- never loads it.  Every case runs in a child process, so that a crash or a
-- hang ends that case, not the run, and names it.

local F = {}

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

--- Settings, from the environment (the Makefile passes its FUZZ_* variables).
F.settings = {
  seed = math.tointeger(tonumber(env("FUZZ_SEED", "1"))) or 1,
  n = math.tointeger(tonumber(env("FUZZ_N", "200"))) or 200,  -- cases a fuzzer
  from = math.tointeger(tonumber(env("FUZZ_FROM", "1"))) or 1, -- first case
  timeout = tonumber(env("FUZZ_TIMEOUT", "10")),               -- seconds a case
  only = env("FUZZ_ONLY", nil),                                -- "db,sql"
  -- 1: a load or an answer that succeeds on a changed stored fact is a
  -- failure; 0: such cases are counted and shown, not failed (until every
  -- stored fact carries a digest that load checks)
  facts = env("FUZZ_FACTS", "0") == "1",
  -- a command put before every child (valgrind, an environment)
  wrap = env("FUZZ_WRAP", ""),
  lua = env("LUA", "lua5.4"),
  sqlite3 = env("SQLITE3", "sqlite3"),
  ext = env("FUZZ_EXT", "./build/nn0"),
  dir = env("FUZZ_DIR", "build/fuzz"),                         -- scratch, failures
  -- at most this much memory (KiB) for a child: absurd sizes must be refused,
  -- not tried; 0 for no limit (under AddressSanitizer, say)
  memory = math.tointeger(tonumber(env("FUZZ_MEMORY", "2000000"))) or 0,
}

--- A number for case i of fuzzer name: the same for the same seed, whatever
-- else runs, so `FUZZ_FROM=i FUZZ_N=1` replays case i alone.
function F.case_seed(name, i)
  local h = F.settings.seed * 1000003
  for c in name:gmatch(".") do h = (h * 31 + c:byte()) % 2147483647 end
  return (h * 1000003 + i) % 9007199254740991
end

function F.shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

function F.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

function F.write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

function F.remove_db(path)
  for _, suffix in ipairs{ "", "-wal", "-shm", "-journal" } do os.remove(path .. suffix) end
end

--- Run cmd (a shell command line) in a child under the time limit, with
-- the wrap prefix and the memory limit.  Returns how it ended, "exit",
-- "timeout" or "signal", its exit code or signal, and everything it printed.
function F.run(cmd, input_file)
  local s = F.settings
  local out = os.tmpname()
  local limit = s.memory > 0 and ("ulimit -v %d; "):format(s.memory) or ""
  local line = ("%stimeout -k 2 %g %s %s %s > %s 2>&1; echo $?"):format(
    limit, s.timeout, s.wrap, cmd, input_file and ("< " .. F.shell_quote(input_file)) or "",
    F.shell_quote(out))
  local p = assert(io.popen("(" .. line .. ")"))
  local code = tonumber(p:read("a")) or -1
  p:close()
  local text = F.read(out) or ""
  os.remove(out)
  if code == 124 or code == 137 then return "timeout", code, text end
  if code > 128 then return "signal", code - 128, text end
  return "exit", code, text
end

--- A child's lines "TAG text", tallied: ERR (a clean error), OK (accepted),
-- FACT (a changed fact accepted silently), BAD (anything else wrong); the
-- child ends with DONE.
function F.parse(text)
  local r = { ERR = 0, OK = 0, FACT = {}, BAD = {}, done = false }
  for line in text:gmatch("[^\n]+") do
    local tag, rest = line:match("^(%u+) ?(.*)$")
    if tag == "ERR" or tag == "OK" then r[tag] = r[tag] + 1
    elseif tag == "FACT" or tag == "BAD" then table.insert(r[tag], rest)
    elseif tag == "DONE" then r.done = true
    end
  end
  return r
end

--- The tally of one fuzzer: trials, clean errors, failures, and what each
-- failure was, with the file that replays it.
function F.tally(name)
  local t = { name = name, trials = 0, errors = 0, accepted = 0, facts = 0,
              moved = 0, failures = 0, notes = {} }
  local keep = F.settings.dir .. "/failures"
  os.execute("mkdir -p " .. F.shell_quote(keep))

  --- Record a failure of case i; files (name -> bytes) are kept for replay.
  function t.fail(i, what, files)
    t.failures = t.failures + 1
    local kept = {}
    for suffix, bytes in pairs(files or {}) do
      local path = ("%s/%s-%d-%d.%s"):format(keep, name, F.settings.seed, i, suffix)
      F.write(path, bytes)
      kept[#kept + 1] = path
    end
    table.sort(kept)
    local note = ("%s case %d: %s"):format(name, i, what)
    if #kept > 0 then note = note .. "\n    kept: " .. table.concat(kept, " ") end
    t.notes[#t.notes + 1] = note
    io.stderr:write("FAIL ", note, "\n")
  end

  --- Judge a child's run: how it ended and what it printed.  moved: the
  -- case deleted rows or moved them to another key, so a changed answer is
  -- counted, never failed.
  function t.judge(i, how, code, text, files, moved)
    t.trials = t.trials + 1
    local r = F.parse(text)
    t.errors = t.errors + r.ERR
    t.accepted = t.accepted + r.OK
    local tail = text:sub(-600)
    if how == "timeout" then
      t.fail(i, ("hang: no end within %g s"):format(F.settings.timeout), files)
    elseif how == "signal" then
      t.fail(i, ("crash: signal %d\n%s"):format(code, tail), files)
    elseif code ~= 0 or not r.done then
      t.fail(i, ("exit %d before the end\n%s"):format(code, tail), files)
    else
      for _, b in ipairs(r.BAD) do t.fail(i, b, files) end
      if moved then
        t.moved = t.moved + #r.FACT
      elseif #r.FACT > 0 then
        t.facts = t.facts + #r.FACT
        if F.settings.facts then
          t.fail(i, ("changed fact accepted: %s%s"):format(r.FACT[1],
            #r.FACT > 1 and (" (and %d more answers)"):format(#r.FACT - 1) or ""), files)
        elseif #t.notes < 5 then
          t.notes[#t.notes + 1] = ("%s case %d: changed fact accepted (not counted): %s")
            :format(name, i, r.FACT[1])
        end
      end
    end
  end

  function t.report(seconds)
    local line = ("%-6s %5d trials in %3d s: %6d clean errors, %6d accepted, %d failures")
      :format(t.name, t.trials, seconds, t.errors, t.accepted, t.failures)
    if t.facts > 0 then
      line = line .. (", %d changed facts accepted%s"):format(t.facts,
        F.settings.facts and "" or " (FUZZ_FACTS=0: not failures)")
    end
    if t.moved > 0 then
      line = line .. (", %d answers changed by raw bytes or rows deleted or moved (not failures)")
        :format(t.moved)
    end
    print(line)
    for _, n in ipairs(t.notes) do print("  " .. n) end
  end
  return t
end

-- --- mutations ---------------------------------------------------------------

--- An integer in [lo, hi] from math.random, which run.lua seeds per case.
local function int(lo, hi) return math.random(lo, hi) end
F.int = int

function F.pick(list) return list[int(1, #list)] end

--- bytes with n random bits flipped.
function F.flip_bits(bytes, n)
  if #bytes == 0 then return bytes end
  local t = { bytes:byte(1, -1) }
  for _ = 1, n do
    local at = int(1, #t)
    t[at] = t[at] ~ (1 << int(0, 7))
  end
  local parts = {}
  for i = 1, #t, 4096 do
    parts[#parts + 1] = string.char(table.unpack(t, i, math.min(i + 4095, #t)))
  end
  return table.concat(parts)
end

--- Byte mutations for files of any format: flips, cuts, interesting bytes,
-- copies of a stretch, inserted junk, digits made huge (for text formats).
local INTERESTING = { "\0", "\255", "\127", "\128", "\1", "\0\0\0\0",
  "\255\255\255\255", "\255\255\255\255\255\255\255\255\1", "\128\128\128\128\128\128\128\128\128\1" }
local HUGE_NUMBERS = { "99999999999999999999", "4294967296", "2147483648", "-1", "0",
  "1e309", "nan", "-0", "18446744073709551616", "65536", "1e-320" }

function F.mutate_bytes(bytes)
  local kind = int(1, 7)
  local n = #bytes
  if n == 0 then return F.pick(INTERESTING), "empty made junk" end
  local at = int(1, n)
  if kind == 1 then
    return F.flip_bits(bytes, int(1, 8)), "bit flips"
  elseif kind == 2 then
    return bytes:sub(1, at - 1), "cut at " .. (at - 1)
  elseif kind == 3 then
    local b = F.pick(INTERESTING)
    return bytes:sub(1, at - 1) .. b .. bytes:sub(at + #b), "bytes set at " .. at
  elseif kind == 4 then
    local len = int(1, math.min(64, n - at + 1))
    local dst = int(1, n)
    return bytes:sub(1, dst - 1) .. bytes:sub(at, at + len - 1) .. bytes:sub(dst), "stretch copied"
  elseif kind == 5 then
    local junk = {}
    for i = 1, int(1, 16) do junk[i] = string.char(int(0, 255)) end
    return bytes:sub(1, at - 1) .. table.concat(junk) .. bytes:sub(at), "junk inserted"
  elseif kind == 6 then
    -- a run of digits replaced by a huge or odd number
    local starts = {}
    for s in bytes:gmatch("()%d+") do starts[#starts + 1] = s end
    if #starts == 0 then return F.flip_bits(bytes, 1), "bit flip" end
    local s = F.pick(starts)
    local e = bytes:find("%D", s) or n + 1
    return bytes:sub(1, s - 1) .. F.pick(HUGE_NUMBERS) .. bytes:sub(e), "number replaced"
  else
    local len = int(1, math.min(256, n - at + 1))
    return bytes:sub(1, at - 1) .. bytes:sub(at + len), "stretch removed"
  end
end

return F
