--- make bench-compare A B: two commits of nn side by side, in one run.
--
--   lua5.4 spec/bench/compare.lua A [B]     (B is HEAD when left out)
--
-- Each of A and B is any name git knows for a commit, or "." for this work
-- tree as it is (built by make).  A commit is written out with `git archive`
-- into build/compare/<commit>/ and built there by its own Makefile (the flat
-- src/ of the early trees and the folders of the later ones alike); then,
-- round after round, each tree runs the same two programs in processes of
-- its own, the order of A and B swapped every round so that neither always
-- runs first: spec/bench/compare_engine.c compiled against the tree's own
-- engine (the engine alone), and spec/bench/compare_run.lua with the tree's
-- nn (the single-sample and batch figures of make bench from Lua).  The
-- plain-Lua pass of the seed's net runs in every Lua process too, the same
-- code on both sides: how far its two medians differ is how far the machine
-- moved under the comparison.
--
-- Prints the median over the rounds of each figure for A and for B, the
-- spread of each (the smallest and largest round), and B / A: below 1, B is
-- faster.  BENCH_ROUNDS sets the rounds (7).  Figures, never assertions.

local ROUNDS = tonumber(os.getenv("BENCH_ROUNDS")) or 7
local BUILD = os.getenv("NN_BUILD") or "build"
local LUA = os.getenv("LUA") or "lua5.4"
local CC = os.getenv("CC") or "cc"
local MAKE = os.getenv("MAKE") or "make"

--- Runs a shell command; its output (stdout and stderr).  Raises with the
-- output when the command fails.
local function run(cmd)
  local pipe = assert(io.popen(cmd .. " 2>&1", "r"))
  local out = pipe:read("a")
  local ok = pipe:close()
  if not ok then error(("failed: %s\n%s"):format(cmd, out), 0) end
  return out
end

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

--- The commit git names rev, and its one-line description; "." is the work
-- tree. Raises on a name git does not know.
local function resolve(rev)
  if rev == "." then return { rev = ".", short = "worktree", what = "this work tree" } end
  local sha = run("git rev-parse --verify --quiet " .. quote(rev .. "^{commit}")):match("%x+")
  if not sha then error(("make bench-compare: no commit named %q"):format(rev), 0) end
  return { rev = rev, sha = sha, short = sha:sub(1, 7),
           what = run("git log -1 --format='%h %s' " .. sha):gsub("\n$", ""):sub(1, 72) }
end

--- The engine sources the tree's own Makefile names (ENGINE_SRCS), as paths
-- from here.
local function engine_sources(dir)
  local srcs = run(("%s -s --no-print-directory -C %s --eval %s nn-compare-srcs"):format(MAKE,
    quote(dir), quote("nn-compare-srcs: ; @echo $(ENGINE_SRCS)")))
  local t = {}
  for f in srcs:gmatch("%S+") do t[#t + 1] = quote(dir .. "/" .. f) end
  return table.concat(t, " ")
end

--- Writes out and builds the tree of commit c (once: build/compare/<commit>
-- is kept), and compiles the engine program against it.  Fills c.dir and
-- c.engine.
local function prepare(c)
  c.dir = c.rev == "." and "." or ("%s/compare/%s"):format(BUILD, c.short)
  c.engine = ("%s/compare/engine-%s"):format(BUILD, c.short)
  local built = io.open(c.dir .. "/.built")
  if built then built:close() end
  if c.rev ~= "." and not built then
    io.stderr:write(("bench-compare: building %s in %s\n"):format(c.what, c.dir))
    run(("rm -rf %s && mkdir -p %s && git archive %s | tar -x -C %s"):format(quote(c.dir),
      quote(c.dir), c.sha, quote(c.dir)))
    run(("%s -C %s LUA=%s build/nn/core.so"):format(MAKE, quote(c.dir), quote(LUA)))
    assert(io.open(c.dir .. "/.built", "w")):close()
  end
  run(("mkdir -p %s/compare && %s -std=c99 -O2 -I%s/src -I%s/src/engine -o %s "
    .. "spec/bench/compare_engine.c %s -lm"):format(BUILD, CC, quote(c.dir), quote(c.dir),
    quote(c.engine), engine_sources(c.dir)))
end

--- "name value" lines into values[name] (a list, one value a round).
local function collect(out, values)
  for name, v in out:gmatch("(%S+) (%S+)\n") do
    local x = tonumber(v)
    if not x then error("bench-compare: not a figure in:\n" .. out, 0) end
    values[name] = values[name] or {}
    values[name][#values[name] + 1] = x
  end
end

--- One round on tree c: the engine program, then the Lua figures with c's nn.
local function round(c)
  collect(run(quote(c.engine)), c.values)
  local build = c.rev == "." and BUILD or c.dir .. "/build"
  collect(run(("LUA_PATH=%s LUA_CPATH=%s %s spec/bench/compare_run.lua"):format(
    quote(c.dir .. "/lua/?.lua;" .. c.dir .. "/lua/?/init.lua;./?.lua;;"),
    quote(build .. "/?.so;;"), quote(LUA))), c.values)
end

local function median(t)
  local s = { table.unpack(t) }
  table.sort(s)
  local n = #s
  return n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
end

local function range(t)
  return math.min(table.unpack(t)), math.max(table.unpack(t))
end

--- The table: one line a figure, in the order the programs print them.
local function report(a, b, names)
  print(("make bench-compare, %d rounds interleaved (A and B in turn, the order swapped "
    .. "each round); medians, ns a sample (a batch: a row), the rounds' range in brackets")
    :format(ROUNDS))
  print(("A = %s\nB = %s\n"):format(a.what, b.what))
  print(("%-18s %10s %-19s %10s %-19s %7s"):format("figure", "A", "", "B", "", "B / A"))
  for _, name in ipairs(names) do
    local va, vb = a.values[name], b.values[name]
    if va and vb then
      local ma, mb = median(va), median(vb)
      local lo_a, hi_a = range(va)
      local lo_b, hi_b = range(vb)
      print(("%-18s %10.1f [%7.1f-%8.1f] %10.1f [%7.1f-%8.1f] %7.3f"):format(name, ma,
        lo_a, hi_a, mb, lo_b, hi_b, mb / ma))
    end
  end
  print("\nB / A below 1: B is faster.  lua.seed.plain is the same plain Lua in both: "
    .. "its B / A is the machine's drift between the two sides.")
end

local function main(args)
  local a, b = resolve(args[1] or error("usage: compare.lua A [B]", 0)), resolve(args[2] or "HEAD")
  prepare(a)
  prepare(b)
  a.values, b.values = {}, {}
  local names = {}
  for r = 1, ROUNDS do
    local first, second = a, b
    if r % 2 == 0 then first, second = b, a end
    round(first)
    round(second)
    io.stderr:write(("bench-compare: round %d of %d\n"):format(r, ROUNDS))
  end
  for name in pairs(a.values) do names[#names + 1] = name end
  table.sort(names)
  report(a, b, names)
end

main(arg)
