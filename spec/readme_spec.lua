-- Every README block a reader would paste runs as written (issue 25): each
-- ```lua and ```sh block of README.md runs in a fresh temporary folder,
-- after the blocks it continues, and every value a comment promises
-- (`--> 0.6457` in Lua, `# --> leaf` in the shell) is checked.
--
-- The README says what a block needs in an HTML comment right above it
-- (spec/support/readme.lua reads it):
--   <!-- readme-spec: name tour -->                 later blocks say "after tour"
--   <!-- readme-spec: after store, training -->     runs those first, in the same
--                                                   folder and, for Lua, the same scope
--   <!-- readme-spec: file model.onnx = spec/fixtures/onnx/relu_softmax_op7.onnx -->
--   <!-- readme-spec: prepare spec/fixtures/readme/objects.lua -->
--   <!-- readme-spec: leave out make test (the suite this spec is part of) -->
--   <!-- readme-spec: skip: why -->                 few, each saying why
-- A Lua block runs in an empty folder with nn found in this clone (its lua/
-- and build/), `nn` already required, as in the reader's own script.  A
-- shell block runs from a folder holding a link to each file and folder at
-- the top of the clone (make, build/ and examples/ are where the README
-- says) with HOME there too, and only on Lua 5.4, the Lua its commands name;
-- under make asan its cc and c++ also link with NN_LDFLAGS, which the
-- sanitized library needs.

local compat = require "spec.support.compat"
local readme = require "spec.support.readme"
local promise = require "spec.support.promise"

local TOP = compat.sh("pwd"):gsub("\n$", "")
local LUA54 = compat.LUA_PC == "lua5.4"
-- make asan: its library is linked with the sanitizers, whose runtime a
-- program without the preload (LÖVE, started by xvfb-run) cannot load
local SANITIZED = (os.getenv("NN_LDFLAGS") or ""):find("-fsanitize", 1, true) ~= nil

--- Whether block b starts LÖVE.
local function runs_love(b)
  for _, l in ipairs(b.code) do
    if l:find("xvfb-run", 1, true) and l:find("love", 1, true) then return true end
  end
  return false
end

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local function tmpdir() return (compat.sh("mktemp -d"):gsub("\n$", "")) end

--- A fresh folder for chain: empty, or, when it has a shell block, holding a
-- link to each entry at the top of the clone; with the files the chain's
-- blocks name in it (a block's code, or a copy of a file of the clone).
local function folder(chain, by_name, linked)
  local dir = tmpdir()
  if linked then
    for name in compat.sh("ls -A " .. quote(TOP)):gmatch("[^\n]+") do
      if name ~= ".git" then compat.sh(("ln -s %s %s"):format(quote(TOP .. "/" .. name), quote(dir .. "/" .. name))) end
    end
  end
  for _, b in ipairs(chain) do
    for _, file in ipairs(b.files) do
      local source = by_name[file.source]
      if source then
        write(dir .. "/" .. file.path, table.concat(source.code, "\n") .. "\n")
      else
        compat.sh(("cp %s %s"):format(quote(TOP .. "/" .. file.source), quote(dir .. "/" .. file.path)))
      end
    end
  end
  return dir
end

--- Runs Lua blocks (one chain's, in order) as one chunk in dir.  Raises
-- with what it printed, its lines named by README line, when it fails.
local function run_lua(blocks, dir, work)
  local chunk, from = readme.lua_chunk(blocks, TOP, LUA54)
  local path = ("%s/chunk-%d.lua"):format(work, blocks[#blocks].line)
  write(path, chunk)
  local env = ("LUA_PATH=%s LUA_CPATH=%s"):format(
    quote(("%s/lua/?.lua;%s/lua/?/init.lua;%s/?.lua;;"):format(TOP, TOP, TOP)),
    quote(("%s/%s/?.so;;"):format(TOP, compat.BUILD)))
  local ok, out = compat.run(("cd %s && %s %s %s"):format(quote(dir), env, compat.LUA, quote(path)))
  if not ok then
    out = out:gsub(path:gsub("%p", "%%%0") .. ":(%d+):", function(n) return from[tonumber(n)] .. ":" end)
    error(("the Lua blocks up to README.md:%d failed:\n%s"):format(blocks[#blocks].line, out), 0)
  end
end

--- A folder of cc and c++ that link with NN_LDFLAGS too, for the PATH of
-- a shell block, when make asan says that linking its sanitized library
-- needs them (as spec/host_spec.lua links with them); nil otherwise.
local function linking_tools(work)
  local flags = os.getenv("NN_LDFLAGS") or ""
  if flags == "" then return nil end
  compat.sh("mkdir -p " .. quote(work .. "/bin"))
  for _, tool in ipairs{ "cc", "c++" } do
    local real = compat.sh("command -v " .. tool):gsub("\n$", "")
    write(work .. "/bin/" .. tool, ("#!/bin/sh\nexec %s \"$@\" %s\n"):format(quote(real), flags))
    compat.sh("chmod +x " .. quote(work .. "/bin/" .. tool))
  end
  return work .. "/bin"
end

--- Runs a shell block in dir as a reader's shell would (no make of ours
-- around it), then checks each line's promise against what it printed.
local function run_sh(b, dir, work)
  local script, promises = readme.sh_script(b, work)
  local path = ("%s/block-%d.sh"):format(work, b.line)
  write(path, script)
  local bin = linking_tools(work)
  local ok, out = compat.run(("cd %s && %senv -u MAKEFLAGS -u MAKELEVEL -u MFLAGS HOME=%s bash %s")
    :format(quote(dir), bin and ("PATH=%s:\"$PATH\" "):format(quote(bin)) or "", quote(dir),
      quote(path)))
  if not ok then error(("the shell block at README.md:%d failed:\n%s"):format(b.line, out), 0) end
  for _, p in ipairs(promises) do
    local values, n = promise.words(read(("%s/%d"):format(work, p.line)))
    promise.check_values(p.line, p.text, values, n)
  end
end

--- Runs chain in a fresh folder: runs of Lua blocks as one chunk each,
-- shell blocks one by one.
local function run_chain(chain, by_name)
  local linked = false
  for _, b in ipairs(chain) do linked = linked or b.lang == "sh" end
  local dir, work = folder(chain, by_name, linked), tmpdir()
  local ok, err = pcall(function()
    local lua = {}
    for i, b in ipairs(chain) do
      if b.lang == "lua" then lua[#lua + 1] = b end
      if #lua > 0 and (b.lang == "sh" or i == #chain) then
        run_lua(lua, dir, work)
        lua = {}
      end
      if b.lang == "sh" then run_sh(b, dir, work) end
    end
  end)
  os.execute(("rm -rf %s %s"):format(quote(dir), quote(work)))
  assert(ok, err)
end

local blocks, by_name = readme.blocks(read("README.md"))

describe("README.md", function()
  for _, b in ipairs(blocks) do
    local what = ("the %s block at line %d%s runs as written"):format(b.lang, b.line,
      b.name and (" ('" .. b.name .. "')") or "")
    it(what, function()
      if b.skip then
        pending(b.skip)
        return
      end
      local chain = readme.chain(b, by_name)
      for _, x in ipairs(chain) do
        if x.lang == "sh" and not LUA54 then
          pending("a shell block: its commands name Lua 5.4, and make test runs it there")
          return
        end
        if SANITIZED and runs_love(x) then
          pending("LÖVE cannot load a library linked with the sanitizers: make test runs it")
          return
        end
      end
      run_chain(chain, by_name)
    end)
  end
end)

describe("a README promise", function()
  local function refused(text, ...)
    local ok, err = pcall(promise.check, 7, text, ...)
    assert.is_false(ok)
    return err
  end

  it("holds numbers to their last digit, and names the line and the value that differs", function()
    promise.check(7, "0.6457", 0.64565628767014)
    promise.check(7, "2 2", 2, 2)
    assert.equal("README.md:7: the comment promises 0.6458, but value 1: got 0.64565628767014",
      refused("0.6458", 0.64565628767014))
    assert.equal("README.md:7: the comment promises 2, but value 1: got 2.5", refused("2", 2.5))
    assert.equal("README.md:7: the comment promises 1 2, but 1 values came: { 1 }", refused("1 2", 1))
  end)

  it("takes a word for a string, or as the name of any value that is not one", function()
    promise.check(7, "leaf 0.6457 y  (prose)", "leaf", 0.64565, { 1 })
    promise.check(7, "X, columns", io.stdout, {})
    promise.check(7, "true nil", true, nil)
    assert.equal("README.md:7: the comment promises leaf, but value 1: got \"flower\"",
      refused("leaf", "flower"))
    assert.equal("README.md:7: the comment promises leaf, but value 1: got 1", refused("leaf", 1))
  end)

  it("reads tables, strings and '...'", function()
    promise.check(7, '{ "leaf", "flower" }, { 0.6492, 0.9823 }, Y', { "leaf", "flower" },
      { 0.64921, 0.98225 }, {})
    promise.check(7, "{ 10, 1, ... }", { 10, 1, 3, 4 })
    assert.equal("README.md:7: the comment promises { 10, 1 }, but value 1: 3 elements came: "
      .. "{ 10, 1, 3 }", refused("{ 10, 1 }", { 10, 1, 3 }))
    assert.equal("README.md:7: the comment promises { 1, {, but it cannot be read: a '{' "
      .. "without its '}'", refused("{ 1, {", {}))
  end)
end)

describe("the README's readme-spec comments", function()
  it("name a block, chain blocks, and refuse a directive they do not know", function()
    local list, names = readme.blocks(table.concat({
      "<!-- readme-spec: name a -->", "```lua", "local x = 1", "```", "",
      "<!-- readme-spec: after a; file f.lua = a", "     leave out make test (why) -->",
      "```sh", "make test", "```", "<!-- readme-spec: skip: because; really -->", "```lua", "```",
    }, "\n"))
    assert.equal(3, #list)
    assert.equal(list[1], names.a)
    assert.same({ "a" }, list[2].after)
    assert.same({ { path = "f.lua", source = "a" } }, list[2].files)
    assert.same({ "make test" }, list[2].leave_out)
    assert.equal("because; really", list[3].skip)
    assert.same({ list[1], list[2] }, readme.chain(list[2], names))
    assert.has_error(function() readme.blocks("<!-- readme-spec: nmae a -->\n```lua\n```") end,
      "README.md:1: readme-spec: unknown directive 'nmae a'")
    assert.has_error(function() readme.blocks("<!-- readme-spec: name a -->\n\n```lua\n```") end,
      "README.md:1: a readme-spec comment must sit right above a lua or sh block")
  end)

  it("skip few blocks, each saying why", function()
    local skipped = 0
    for _, b in ipairs(blocks) do
      if b.skip then
        skipped = skipped + 1
        assert.truthy(#b.skip > 20, b.skip)
      end
    end
    assert.is_true(skipped <= 5, skipped .. " blocks skipped")
    assert.is_true(#blocks - skipped >= 18)
  end)
end)
