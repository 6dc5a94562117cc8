-- The JSON reader (src/formats/nn_json_read.c) and the number parser
-- (src/formats/nn_number.c) from C: spec/support/json_check.c prints the
-- tokens it reads from each text, and this file compares them with
-- independent references: SQLite's json_valid and json_tree (the sqlite3
-- shell) for which texts are JSON and what they hold, Lua's own tonumber
-- for what a number is worth in double precision, and compat.f32 (float32
-- rounding in Lua arithmetic) for the float.  The SQL functions, the
-- store's matrices and store:history read through this reader; their own
-- specs assert their messages.

local c = require "spec.support.c"
local compat = require "spec.support.compat"
local files = require "spec.support.files"
local reference = require "spec.support.reference"

local SQLITE3 = os.getenv("SQLITE3") or "sqlite3"

-- SQLite's own limit of nesting (JSON_MAX_DEPTH), which the reader is set to
-- when its answers are compared with SQLite's
local SQLITE_DEPTH = 2000
-- the reader's limits, from its headers (nn_json_read.h, nn_number.h)
local DEPTH_MAX, NUMBER_MAX, FIELD_MAX = 2048, 1100, 120

local function hex(s)
  return (s:gsub(".", function(ch) return ("%02X"):format(ch:byte()) end))
end

local function words(line)
  local t = {}
  for w in line:gmatch("%S+") do t[#t + 1] = w end
  return t
end

describe("the JSON reader", function()
  local exe, dir
  setup(function()
    exe = c.compile("spec/support/json_check.c src/formats/nn_json_read.c src/formats/nn_number.c")
    dir = os.tmpname()
    os.remove(dir)
    compat.sh("mkdir -p " .. dir)
  end)
  teardown(function()
    os.remove(exe)
    compat.sh("rm -rf " .. dir)
  end)

  --- The checker's line for each text (flags 0 or 1, depth 0 for the
  -- reader's own limit); env is put before the command (a locale).
  local function read(texts, flags, depth, env, arg)
    local lines = {}
    for i, text in ipairs(texts) do
      lines[i] = ("%d %d %s"):format(flags or 0, depth or 0, hex(text))
    end
    files.write(dir .. "/cases", table.concat(lines, "\n") .. "\n")
    local out = c.run((env or "") .. exe, (arg or "") .. " < " .. dir .. "/cases")
    local t = {}
    for line in out:gmatch("[^\n]*\n") do t[#t + 1] = line:sub(1, -2) end
    assert.equal(#texts, #t, out)
    for i, line in ipairs(t) do
      assert.is_nil(line:match("peek%-%a+") or line:match("unescape%-differs"),
                    "reading the text " .. hex(texts[i]) .. " as " .. line)
    end
    return t
  end

  --- SQLite's reading of each text: false when json_valid refuses it, else
  -- its tokens as the checker writes them, numbers as a bare "n".
  local function sqlite(texts)
    local sql = { ".mode list", ".separator |" }
    for i, text in ipairs(texts) do
      local d = ("CAST(X'%s' AS TEXT)"):format(hex(text))
      sql[#sql + 1] = ("SELECT 'v', %d, json_valid(%s);"):format(i, d)
      sql[#sql + 1] = ("SELECT 'r', %d, id, ifnull(parent, ''), type, hex(key), hex(atom)"
        .. " FROM json_tree(%s) WHERE json_valid(%s) ORDER BY id;"):format(i, d, d)
    end
    files.write(dir .. "/ref.sql", table.concat(sql, "\n") .. "\n")
    local out = compat.sh(SQLITE3 .. " -batch -noheader :memory: < " .. dir .. "/ref.sql")
    local valid, rows = {}, {}
    for line in out:gmatch("[^\n]+") do
      local f = {}
      for field in (line .. "|"):gmatch("([^|]*)|") do f[#f + 1] = field end
      local i = tonumber(f[2])
      if f[1] == "v" then
        valid[i] = f[3] == "1"
        rows[i] = {}
      else
        table.insert(rows[i], { id = f[3], parent = f[4], type = f[5], key = f[6], atom = f[7] })
      end
    end
    local answers = {}
    for i = 1, #texts do
      assert.is_not_nil(valid[i], out)
      answers[i] = valid[i] and (function()
        local t, open, kinds = {}, {}, {}
        local function close_to(parent)
          while #open > 0 and open[#open] ~= parent do
            t[#t + 1] = kinds[open[#open]] == "object" and "}" or "]"
            open[#open] = nil
          end
        end
        local token = { object = "{", array = "[", integer = "n", real = "n", ["true"] = "t",
                        ["false"] = "f", null = "z" }
        for _, r in ipairs(rows[i]) do
          close_to(r.parent)
          if kinds[r.parent] == "object" then t[#t + 1] = "k" .. r.key end
          t[#t + 1] = r.type == "text" and "s" .. r.atom or token[r.type]
          kinds[r.id] = r.type
          if r.type == "object" or r.type == "array" then open[#open + 1] = r.id end
        end
        close_to(nil)
        t[#t + 1] = "end"
        return table.concat(t, " ")
      end)()
    end
    return answers
  end

  --- The checker's line with every number as a bare "n"; false for an error.
  local function shape(line)
    if line:match("error") then return false end
    local t = words(line)
    for i, w in ipairs(t) do
      if w:sub(1, 1) == "n" and w ~= "n" then t[i] = "n" end
    end
    return table.concat(t, " ")
  end

  local function agree_with_sqlite(texts)
    local ours, theirs = read(texts, 0, SQLITE_DEPTH), sqlite(texts)
    for i, text in ipairs(texts) do
      assert.equal(theirs[i], shape(ours[i]), "the text " .. ("%q"):format(text) .. " read as "
                   .. ours[i])
    end
    return ours
  end

  describe("reads as SQLite does", function()
    it("values, white space, objects and arrays", function()
      agree_with_sqlite{ "[]", "{}", " [ ] ", "\t\n\r[1]\r\n\t", "0", "-0", '"x"', "true",
        "false", "null", '{"a":1,"b":[1,2,{"c":null}],"":"","a":2}', "[[],{},[[]],[{}]]",
        '{"a":{"b":{"c":[true,false,null,"d",-1.5e-3]}}}', '[1,"a",true,false,null,{},[]]' }
    end)

    it("strings with every escape, \\u with surrogate pairs and lone surrogates", function()
      agree_with_sqlite{ [["\"\\\/\b\f\n\r\t"]], [["\u0041\u00e9\u20AC\uFFFF\u0001"]],
        [["\uD834\uDD1E"]], [["\ud83d\ude00!"]], [["\uD800"]], [["\uDC00"]],
        [["\uD800\u0041"]], [["\uD800\uD800\uDC00"]], [["\uDBFF\uDFFF"]],
        [["\uDC00\uD800"]], [["a\uD800"]], '"\195\169\226\130\172\240\159\152\128"',
        '"\127\255"', [[{"\u00e9\n":true,"k\"":"\\u0041"}]], [["\/\/"]] }
    end)

    it("refusing what RFC 8259 does not allow", function()
      local texts = { "", " ", "[", "]", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\" 1}", "{1:2}",
        "{\"a\"}", "[1]]", "{}}", "[1] x", "[1][2]", "[01]", "[-01]", "[1.]", "[.5]", "[+1]",
        "[-]", "[1e]", "[1e+]", "[1.e5]", "[-.5]", "[0x10]", "[1e5.5]", "[1.5.3]", "[1-2]",
        "[NaN]", "[Infinity]", "[-Infinity]", "[tru]", "[nul]", "[True]", "[truex]", "[nulll]",
        '"abc', '"\\x"', '"\\u12"', '"\\u12G4"', '"\\U0041"', '"\\', '"a\1"', '"a\31"',
        '"a\n"', '"a\t"', "\v[1]", "[1]\f", "'a'", "[1 2]", "{\"a\":1 \"b\":2}", "[\"a\":1]",
        "{\"a\",1}", "{[]:1}", "1 2", "--1", "[1,,2]" }
      local ours = agree_with_sqlite(texts)
      for i, text in ipairs(texts) do
        assert.is_truthy(ours[i]:match("error"), ("%q"):format(text) .. ": " .. ours[i])
      end
    end)

    it("random documents and random edits of them", function()
      local rand = reference.stream(20240611)
      local function int(lo, hi) return math.floor(rand(lo, hi + 1)) end
      local function pick(t) return t[int(1, #t)] end
      local SPACE = { "", "", " ", "\n", "\t", "\r\n", "  " }
      local PIECES = { "a", "Z", " ", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",
        "\195\169", "\240\159\152\128", "\127", ":", ",", "[", "}" }
      local function string_text()
        local t = { '"' }
        for _ = 1, int(0, 6) do
          local k = int(1, 4)
          if k == 1 then
            -- any code point but 0 (SQLite's json_tree cuts a string at \u0000)
            t[#t + 1] = ("\\u%04x"):format(int(1, 0xFFFF))
          elseif k == 2 then
            t[#t + 1] = ("\\u%04X\\u%04X"):format(int(0xD800, 0xDBFF), int(0xDC00, 0xDFFF))
          else
            t[#t + 1] = pick(PIECES)
          end
        end
        return table.concat(t) .. '"'
      end
      local function number_text()
        local t = { pick{ "", "-" }, pick{ "0", tostring(int(1, 9)) .. ("7"):rep(int(0, 25)) } }
        if int(0, 1) == 1 then t[#t + 1] = "." .. ("3"):rep(int(1, 20)) end
        if int(0, 1) == 1 then t[#t + 1] = pick{ "e", "E" } .. pick{ "", "+", "-" } .. int(0, 400) end
        return table.concat(t)
      end
      local value
      local function container(open, close, depth, member)
        local t = { open }
        for i = 1, int(0, 4) do
          if i > 1 then t[#t + 1] = pick(SPACE) .. "," end
          t[#t + 1] = pick(SPACE) .. (member and string_text() .. pick(SPACE) .. ":" or "")
            .. pick(SPACE) .. value(depth + 1)
        end
        return table.concat(t) .. pick(SPACE) .. close
      end
      value = function(depth)
        local k = int(1, depth > 5 and 6 or 8)
        if k == 1 then return number_text()
        elseif k <= 3 then return string_text()
        elseif k <= 6 then return pick{ "true", "false", "null", number_text() }
        elseif k == 7 then return container("[", "]", depth, false)
        end
        return container("{", "}", depth, true)
      end
      local EDITS = { "[", "]", "{", "}", ",", ":", '"', "\\", "u", "0", "1", "-", ".", "e", "+",
        " ", "t", "x", "\1", "\127", "\255", "\n" }
      local texts = {}
      for i = 1, 1500 do
        local text = pick(SPACE) .. value(0) .. pick(SPACE)
        if i > 500 then   -- one to three bytes deleted, inserted or replaced
          for _ = 1, int(1, 3) do
            local at, k = int(1, #text + 1), int(1, 3)
            text = text:sub(1, at - 1) .. (k == 1 and "" or pick(EDITS))
              .. text:sub(at + (k == 2 and 0 or 1))
          end
        end
        -- an edit can make a \u0000 (SQLite's json_tree cuts a string there)
        if not text:find("\\u0000", 1, true) then texts[#texts + 1] = text end
      end
      local ours = agree_with_sqlite(texts)
      local refused = 0
      for _, line in ipairs(ours) do
        if line:match("error") then refused = refused + 1 end
      end
      -- both sides of the comparison were exercised
      assert.is_true(refused > 300 and #texts - refused > 600, refused .. " refused")
    end)

    it("nesting down to SQLite's limit, and not one deeper", function()
      local deep = ("["):rep(SQLITE_DEPTH) .. ("]"):rep(SQLITE_DEPTH)
      local deeper = ("["):rep(SQLITE_DEPTH + 1) .. ("]"):rep(SQLITE_DEPTH + 1)
      local mixed = ('{"a":['):rep(SQLITE_DEPTH / 2) .. ("]}"):rep(SQLITE_DEPTH / 2)
      local ours = agree_with_sqlite{ deep, deeper, mixed, "[" .. mixed .. "]" }
      assert.equal("error DEPTH " .. SQLITE_DEPTH, ours[2]:match("error.*"))
      -- one '[' before 1000 of '{"a":[' (6 bytes): the 2001st open is the
      -- last byte of the 1000th
      assert.equal("error DEPTH " .. 3 * SQLITE_DEPTH, ours[4]:match("error.*"))
    end)
  end)

  describe("says what is wrong and at which byte", function()
    it("naming the first thing wrong, counting bytes from 0", function()
      local cases = {
        { "[1,]", "[ n1/1 error VALUE 3" },
        { '{"a" 1}', "{ k61 error COLON 5" },
        { '{"a":1,}', "{ k61 n1/1 error KEY 7" },
        { '{"a":1 "b":2}', "{ k61 n1/1 error OBJECT 7" },
        { "[1 2]", "[ n1/1 error ARRAY 3" },
        { "[1] x", "[ n1/1 ] error TRAILING 4" },
        { '"abc', "error STRING 0" },
        { '["a\\x"]', "[ error ESCAPE 3" },
        { '"\\u12"', "error HEX 1" },
        { '"\\', "error STRING 0" },
        { ' "a\1"', "error CONTROL 3" },
        { "[tru]", "[ error LITERAL 1" },
        -- a number ends where JSON's grammar does: what follows is out of place
        { "[01]", "[ n0/0 error ARRAY 2" },
        { "[1.5.3]", "[ n1.5/1.5 error ARRAY 4" },
        { "[1.]", "[ error NUMBER 1" },
        { "[-]", "[ error NUMBER 1" },
        { "[1e+]", "[ error NUMBER 1" },
        { "", "error VALUE 0" },
        { "  ", "error VALUE 2" },
        { "[[[1]]]", "[ [ error DEPTH 2", 2 },
      }
      for _, case in ipairs(cases) do
        assert.equal(case[2], read({ case[1] }, 0, case[3])[1], ("%q"):format(case[1]))
      end
    end)

    it("nests as deep as it is told, or as NN_JSON_DEPTH_MAX when told 0", function()
      local function nest(n) return ("["):rep(n) .. ("]"):rep(n) end
      local out = read({ nest(16), nest(17) }, 0, 16)
      assert.is_truthy(out[1]:match(" end$"))
      assert.equal("error DEPTH 16", out[2]:match("error.*"))
      out = read({ nest(DEPTH_MAX), nest(DEPTH_MAX + 1) }, 0, 0)
      assert.is_truthy(out[1]:match(" end$"))
      assert.equal("error DEPTH " .. DEPTH_MAX, out[2]:match("error.*"))
    end)
  end)

  describe("decodes strings", function()
    it("\\u0000 into a zero byte, which SQLite's json_tree would cut at", function()
      assert.equal("s610062 end", read({ [["a\u0000b"]] })[1])
    end)
  end)

  describe("reads numbers as Lua does in double precision, and float32 as rounding does",
           function()
    local function same_double(a, b)
      return a == b and (a ~= 0 or 1 / a == 1 / b)
    end

    -- tonumber as a double: "-0" is the integer 0 on Lua 5.3 and later
    local function lua_number(text)
      if text == "inf" or text == "-inf" then return text == "inf" and math.huge or -math.huge end
      return tonumber(text:find("[.eE]") and text or text .. ".0")
    end

    --- Each text in an array, read; its double and float checked against
    -- tonumber and compat.f32.
    local function check(texts, flags, env, arg)
      local docs = {}
      for i, text in ipairs(texts) do docs[i] = "[" .. text .. "]" end
      local out = read(docs, flags, 0, env, arg)
      for i, text in ipairs(texts) do
        local d, f = out[i]:match("^%[ n(%S+)/(%S+) %] end$")
        assert.is_not_nil(d, text .. ": " .. out[i])
        local want, got = lua_number(text), lua_number(d)
        assert.is_true(same_double(want, got), text .. " read as " .. d)
        local want_f = compat.f32(want)
        if want_f == math.huge or want_f == -math.huge then
          assert.equal("x", f, text .. " as float32")
        else
          assert.is_true(same_double(want_f, compat.f32(lua_number(f))), text .. " as float32: " .. f)
        end
      end
      return out
    end

    local EDGES = {
      "0", "-0", "1", "-1", "0.1", "1e5", "1E+5", "1e-5", "123456789012345678901234567890",
      "9007199254740993", "0.30000000000000004",
      -- double's range: its largest, what rounds to it, what rounds beyond
      "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
      "1e400", "-1e400", "1e-400", "-1e-400",
      -- double's subnormals: the smallest, half of it (a tie, to 0), above half
      "4.9406564584124654e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
      "2.2250738585072014e-308",
      -- float's range: FLT_MAX, its shortest text, a quarter and three
      -- quarters of the way to the tie above it, the double just below the
      -- tie, the tie (to infinity), and 2^128
      "3.4028234663852886e38", "3.4028235e38", "3.40282349e38", "3.40282355e38",
      "-3.40282355e38", "3.4028235677973362e38", "340282356779733661637539395458142568448",
      "340282356779733661637539395458142568447.99", "3.4028236e38", "-3.4028235e38",
      "340282366920938463463374607431768211456",
      -- float's subnormals: the smallest, half of it (a tie, to 0), above half
      "1.401298464324817e-45", "7.006492321624085e-46", "7.006492321624087e-46",
      "1.1754943508222875e-38",
    }

    it("at the edges of double's and float's ranges", function()
      check(EDGES)
    end)

    it("of every length up to NN_NUMBER_MAX, and refuses one longer", function()
      local long = "0." .. ("0"):rep(NUMBER_MAX - 4) .. "15"
      assert.equal(NUMBER_MAX, #long)
      check{ long, "1" .. ("0"):rep(NUMBER_MAX - 1), "-" .. ("9"):rep(NUMBER_MAX - 1) }
      assert.equal("[ error LONG 1", read{ "[" .. long .. "5]" }[1])
    end)

    it("random ones in JSON's grammar", function()
      local rand = reference.stream(7)
      local texts = {}
      for i = 1, 2000 do
        local function digits(n)
          local t = {}
          for j = 1, n do t[j] = tostring(math.floor(rand(0, 10))) end
          return table.concat(t)
        end
        local int = rand(0, 1) < 0.2 and "0" or tostring(math.floor(rand(1, 10))) .. digits(math.floor(rand(0, 20)))
        local frac = rand(0, 1) < 0.6 and "." .. digits(math.floor(rand(1, 25))) or ""
        local exp = rand(0, 1) < 0.6 and ("e%d"):format(math.floor(rand(-340, 330))) or ""
        texts[i] = (rand(0, 1) < 0.5 and "-" or "") .. int .. frac .. exp
      end
      check(texts)
    end)

    it("with NN_JSON_LOOSE_NUMBERS, also as the data readers take them", function()
      check({ "+1", ".5", "5.", "01", "-.5e1", "+0.25E-1", ("1"):rep(FIELD_MAX) }, 1)
      assert.same({ "[ error VALUE 1", "[ error VALUE 1", "[ error NUMBER 1", "[ n0/0 error ARRAY 2" },
                  read{ "[+1]", "[.5]", "[5.]", "[01]" })
      assert.same({ "[ error LONG 1", "[ error NUMBER 1", "[ error NUMBER 1", "[ error NUMBER 1",
                    "[ error NUMBER 1", "[ error NUMBER 1" },
                  read({ "[" .. ("1"):rep(FIELD_MAX + 1) .. "]", "[1-2]", "[1e]", "[.]", "[+]",
                         "[1e5.5]" }, 1))
    end)

    local sources = io.open("/usr/share/i18n/locales/de_DE")
    if sources then sources:close() end
    ;(sources and it or pending)("whatever the C locale's decimal point", function()
      local loc = dir .. "/locale"
      compat.sh("mkdir -p " .. loc .. " && localedef -i de_DE -f UTF-8 " .. loc .. "/de_DE.UTF-8")
      local env = ("LOCPATH=%s LC_ALL=de_DE.UTF-8 "):format(loc)
      -- the checker sets the locale, or exits 2 (and c.run raises)
      check(EDGES, 0, env, "locale")
      check({ "+1.5", ".5", "5." }, 1, env, "locale")
    end)
  end)
end)
