--- README.md's code blocks, read for spec/readme_spec.lua: every ```lua and
-- ```sh block with what the HTML comment just above it says about running
-- it, and each block's chain of earlier blocks as one Lua chunk or one
-- shell script, its promises (`-->`) turned into checks.
--
-- The comment, when a block needs one, is
--   <!-- readme-spec: DIRECTIVE; DIRECTIVE ... -->
-- (directives split at ';' or at line ends; the comment may span lines):
--   name NAME              other blocks name this one by NAME
--   after NAME, NAME       the named blocks (and theirs) run first, in the
--                          same folder, and a Lua block continues a Lua
--                          block it comes after: its locals are in scope
--   file PATH = SOURCE     the folder holds PATH before anything runs: the
--                          code of the block named SOURCE, or a copy of the
--                          clone's file SOURCE (data a block names)
--   prepare FILE           the clone's Lua FILE runs just before the block,
--                          in its chunk (what a block names but no block
--                          makes, such as a table of the reader's own)
--   leave out TEXT (WHY)   the block's lines holding TEXT do not run
--   skip: WHY              the block does not run (the rest is the reason)

local readme = {}

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

--- The directives of a comment's text into block b.  Raises on one it
-- does not know.
local function directives(text, b, where)
  local skip = text:match("^%s*skip:%s*(.-)%s*$")
  if skip then
    b.skip = skip:gsub("%s+", " ")
    return
  end
  for d in text:gmatch("[^;\n]+") do
    d = trim(d)
    local name = d:match("^name%s+([%w_]+)$")
    local after = d:match("^after%s+(.+)$")
    local path, source = d:match("^file%s+(%S+)%s*=%s*(%S+)$")
    local prepare = d:match("^prepare%s+(%S+)$")
    local leave = d:match("^leave out%s+(.-)%s+%(")
    if name then b.name = name
    elseif after then
      for n in after:gmatch("[%w_]+") do b.after[#b.after + 1] = n end
    elseif path then b.files[#b.files + 1] = { path = path, source = source }
    elseif prepare then b.prepare[#b.prepare + 1] = prepare
    elseif leave then b.leave_out[#b.leave_out + 1] = leave
    elseif d ~= "" then
      error(("README.md:%d: readme-spec: unknown directive '%s'"):format(where, d))
    end
  end
end

local function new_block(line, lang)
  return { line = line, lang = lang, code = {}, after = {}, files = {}, prepare = {},
           leave_out = {} }
end

--- Every ```lua and ```sh block of text (README.md), in order, each
-- { line = its fence's line, lang, code = { lines }, name, after, files,
-- prepare, leave_out, skip }; and the blocks by name.  Raises on a
-- readme-spec comment that is not right above a block it can run.
function readme.blocks(text)
  local lines = {}
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  local list, by_name, i, comment = {}, {}, 1, nil
  while i <= #lines do
    local l = lines[i]
    if l:match("^<!%-%- readme%-spec:") then
      local first, body = i, l:gsub("^<!%-%- readme%-spec:", "")
      while not body:find("%-%->") do i = i + 1; body = body .. "\n" .. lines[i] end
      comment = { line = first, text = body:gsub("%-%->.*$", "") }
    elseif l:match("^```") then
      local lang = l:match("^```(%a+)%s*$")
      local b = (lang == "lua" or lang == "sh") and new_block(i, lang)
      if comment then
        local last = comment.line + select(2, comment.text:gsub("\n", ""))
        assert(b and last == i - 1, ("README.md:%d: a readme-spec comment must sit right "
          .. "above a lua or sh block"):format(comment.line))
        directives(comment.text, b, comment.line)
      end
      comment = nil
      i = i + 1
      while not lines[i]:match("^```") do
        if b then b.code[#b.code + 1] = lines[i] end
        i = i + 1
      end
      if b then
        list[#list + 1] = b
        if b.name then by_name[b.name] = b end
      end
    end
    i = i + 1
  end
  return list, by_name
end

--- The blocks b runs after, first to last, then b: each once.
function readme.chain(b, by_name)
  local out, seen = {}, {}
  local function visit(x)
    if seen[x] then return end
    seen[x] = true
    for _, n in ipairs(x.after) do
      visit(assert(by_name[n], ("README.md:%d: after %s: no block of that name"):format(x.line, n)))
    end
    out[#out + 1] = x
  end
  visit(b)
  return out
end

--- The names a one-line assignment assigns ("local a, b <close> = ..." or
-- "a, b = ..."), as a list in Lua's syntax; nil when code is none.
local function assigned(code)
  local lhs = code:match("^%s*local%s+([%w_%s,<>]-)%s*=[^=]")
    or code:match("^%s*([%a_][%w_%s,%.]-)%s*=[^=]")
  if not lhs then return nil end
  local names = {}
  for n in lhs:gsub("<%a+>", ""):gmatch("[^,%s]+") do names[#names + 1] = n end
  return table.concat(names, ", ")
end

--- Line l of a Lua block (README line n) as it runs: a promise (`-->`)
-- becomes a check of what the line prints (print), assigns, or calls,
-- raising with n; a promise on a line of its own is about the assignment
-- on code line prev.  Before Lua 5.4, `<close>` goes, as the README says
-- it needs 5.4.  Raises on a promise it cannot attach.
local function lua_line(l, n, prev, lua54)
  if not lua54 then l = l:gsub("%s*<close>", "") end
  local code, text = l:match("^(.-)%s*%-%->%s*(.-)%s*$")
  if not code then return l end
  local q = ("%q"):format(text)
  if code:match("^%s*$") then
    local names = prev and assigned(prev)
    assert(names, ("README.md:%d: a promise on a line of its own must follow an assignment"):format(n))
    return ("__promise.check(%d, %s, %s)"):format(n, q, names)
  end
  local args = code:match("^%s*print(%b())%s*$")
  if args then return ("__promise.print(%d, %s, %s)"):format(n, q, args:sub(2, -2)) end
  local names = assigned(code)
  if names then return ("%s; __promise.check(%d, %s, %s)"):format(code, n, q, names) end
  return ("__promise.check(%d, %s, %s)"):format(n, q, code)
end

--- The Lua chunk that runs blocks (Lua blocks of one chain, first to
-- last) in one scope, each after its prepare files (read from top, the
-- clone); and for each of its lines where it comes from ("README.md:45").
function readme.lua_chunk(blocks, top, lua54)
  local out = { 'local __promise = require "spec.support.promise"; local nn = require "nn"' }
  local from = { "(the spec's first line)" }
  local function add(line, where)
    out[#out + 1] = line
    from[#out] = where
  end
  for _, b in ipairs(blocks) do
    for _, file in ipairs(b.prepare) do
      local n = 0
      for l in io.lines(top .. "/" .. file) do
        n = n + 1
        add(l, file .. ":" .. n)
      end
    end
    local prev
    for i, l in ipairs(b.code) do
      add(lua_line(l, b.line + i, prev, lua54), "README.md:" .. (b.line + i))
      if l:match("%S") and not l:match("^%s*%-%-") then prev = l end
    end
  end
  return table.concat(out, "\n") .. "\n", from
end

--- The shell script of block b: its lines, those holding a leave-out text
-- commented out, and a line with a promise (`# --> ...`) printing into
-- outdir/N (N its README line); and those promises, { line =, text = }.
function readme.sh_script(b, outdir)
  local out, promises = { "set -e" }, {}
  for i, l in ipairs(b.code) do
    local n, left_out = b.line + i, false
    for _, text in ipairs(b.leave_out) do left_out = left_out or l:find(text, 1, true) ~= nil end
    local code, text = l:match("^(.-)%s+#%s*%-%->%s*(.-)%s*$")
    if left_out then
      out[#out + 1] = "# left out: " .. l
    elseif code then
      out[#out + 1] = ("{ %s\n} > '%s/%d'"):format(code, outdir, n)
      promises[#promises + 1] = { line = n, text = text }
    else
      out[#out + 1] = l
    end
  end
  return table.concat(out, "\n") .. "\n", promises
end

return readme
