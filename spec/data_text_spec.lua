-- nn.read_fann_data and nn.read_csv (src/formats/nn_data.c, src/formats/nn_data_csv.c under
-- src/lua/nn_lua_data.c): text files of numbers.  The files are written here;
-- every number read is compared with Lua's own reading of the same text
-- (tonumber, in double precision) rounded once to float32.

local nn = require "nn"
local compat = require "spec.support.compat"
local files = require "spec.support.files"

local f32 = compat.f32

local write = files.write

--- The error of nn[name](...), without the caller's position.  Called as
-- a field, so that an argument error names the function as a user sees it.
local function error_of(name, ...)
  local args = compat.pack_args(...)
  local ok, err = pcall(function()
    if name == "read_csv" then nn.read_csv(compat.unpack(args, 1, args.n))
    else nn.read_fann_data(compat.unpack(args, 1, args.n)) end
  end)
  assert.is_false(ok, "no error")
  return (err:gsub("^.-:%d+: ", "", 1))
end

--- The rows of texts, each number read by tonumber and rounded to float32.
local function f32_rows(rows)
  local out = {}
  for i, row in ipairs(rows) do
    out[i] = {}
    for j, text in ipairs(row) do out[i][j] = f32(assert(tonumber(text))) end
  end
  return out
end

local path
before_each(function() path = os.tmpname() end)
after_each(function()
  os.remove(path)
  os.remove(path .. ".gz")
end)

describe("nn.read_fann_data", function()
  local function read(text)
    write(path, text)
    return nn.read_fann_data(path)
  end
  local function refused(text)
    write(path, text)
    return error_of("read_fann_data", path)
  end

  it("reads FANN's xor.data: the inputs and the outputs, a row per pair", function()
    local X, T = read("4 2 1\n-1 -1\n-1\n-1 1\n1\n1 -1\n1\n1 1\n-1\n")
    assert.same({ { -1, -1 }, { -1, 1 }, { 1, -1 }, { 1, 1 } }, X:to_table())
    assert.same({ { -1 }, { 1 }, { 1 }, { -1 } }, T:to_table())
  end)

  it("reads the numbers FANN writes, with '.' and exponents, in any white space", function()
    local texts = { { "0.530000", "1.00000000000000000000e+00", "-2.5E-3" },
                    { "7", "+.25", "1e2" } }
    local X, T = read("2 2 1\n" .. texts[1][1] .. " " .. texts[1][2] .. " \r\n"
                      .. texts[1][3] .. "\t\n\n" .. texts[2][1] .. "\n" .. texts[2][2]
                      .. " " .. texts[2][3])
    local want = f32_rows(texts)
    assert.same({ { want[1][1], want[1][2] }, { want[2][1], want[2][2] } }, X:to_table())
    assert.same({ { want[1][3] }, { want[2][3] } }, T:to_table())
  end)

  it("reads a gzip file as the file it holds", function()
    write(path, "1 1 2\n0.5\n1 0\n")
    assert(compat.execute("gzip -n -k " .. path))
    local X, T = nn.read_fann_data(path .. ".gz")
    assert.same({ { 0.5 } }, X:to_table())
    assert.same({ { 1, 0 } }, T:to_table())
  end)

  it("reads a file of no pairs", function()
    local X, T = read("0 3 2\n")
    assert.equal(0, X:rows())
    assert.equal(3, X:cols())
    assert.equal(2, T:cols())
  end)

  describe("refuses, naming line and column", function()
    it("a header that is not three counts", function()
      assert.equal(path .. ": line 1: the file ends inside the header (pairs inputs "
                   .. "outputs): the number of outputs is missing", refused("4 2\n"))
      assert.equal(path .. ": line 1, column 3: 'two' is not a number of inputs (the header "
                   .. "is: pairs inputs outputs)", refused("4 two 1\n"))
      assert.equal(path .. ": line 1, column 5: '0' is not a number of outputs (the header "
                   .. "is: pairs inputs outputs)", refused("4 2 0\n"))
      assert.equal(path .. ": line 1, column 1: '-4' is not a number of pairs (the header "
                   .. "is: pairs inputs outputs)", refused("-4 2 1\n"))
      assert.equal(path .. ": line 1: 100000000 pairs of 10 inputs and 1 outputs are more "
                   .. "than 268435456 numbers", refused("100000000 10 1\n"))
    end)

    it("a value that is not a number, in the locale's way or not at all", function()
      assert.equal(path .. ": line 3, column 3: '1,5' is not a number (pair 2, input 2)",
                   refused("2 2 1\n1 2 3\n4 1,5 6\n"))
      assert.equal(path .. ": line 2, column 5: 'nan' is not a number (pair 1, output 1)",
                   refused("1 2 1\n1 2 nan\n"))
      assert.equal(path .. ": line 2, column 1: '0x10' is not a number (pair 1, input 1)",
                   refused("1 1 1\n0x10 1\n"))
      assert.equal(path .. ": line 2, column 3: '(a long token)' is not a number (pair 1, "
                   .. "input 2)", refused("1 2 1\n1 " .. ("9"):rep(30) .. "x 1\n"))
    end)

    it("a value beyond float32", function()
      assert.equal(path .. ": line 3, column 1: '1e39' is out of range for float32",
                   refused("1 1 1\n0\n1e39\n"))
    end)

    it("fewer pairs than the header says, or more", function()
      assert.equal(path .. ": line 4: the file ends in pair 2 of 2 (output 1 of 1 expected)",
                   refused("2 1 1\n1\n2\n3\n"))
      assert.equal(path .. ": line 4, column 1: '9' follows the 1 pairs the header announces",
                   refused("1 1 1\n1\n2\n9\n"))
    end)

    it("a file it cannot open", function()
      os.remove(path)
      assert.equal(path .. ": cannot open (No such file or directory)",
                   error_of("read_fann_data", path))
    end)
  end)
end)

describe("nn.read_csv", function()
  local IRIS = table.concat({
    "sepal_length,sepal_width,species,petal_length",
    "5.1,3.5,setosa,1.4",
    "7.0,3.2,versicolor,4.7",
    "6.3,3.3,virginica,6.0",
    "4.9,3.0,setosa,1.4",
    "",
  }, "\n")

  local function read(text, opts)
    write(path, text)
    return nn.read_csv(path, opts)
  end
  local function refused(text, opts)
    write(path, text)
    return error_of("read_csv", path, opts)
  end

  it("reads a label column as 1-based indices into its labels, sorted", function()
    local X, T, labels, columns = read(IRIS, { target = "species" })
    assert.same(f32_rows{ { "5.1", "3.5", "1.4" }, { "7.0", "3.2", "4.7" },
                          { "6.3", "3.3", "6.0" }, { "4.9", "3.0", "1.4" } }, X:to_table())
    assert.same({ 1, 2, 3, 1 }, T)
    assert.same({ "setosa", "versicolor", "virginica" }, labels)
    assert.same({ "sepal_length", "sepal_width", "petal_length" }, columns)
  end)

  it("sorts the labels by their bytes, not by where they first appear", function()
    local _, T, labels = read("x,y\n1,b\n2,a\n3,B\n4,b\n", { target = 2 })
    assert.same({ "B", "a", "b" }, labels)
    assert.same({ 3, 2, 1, 3 }, T)
  end)

  it("takes the target by 1-based index, and a label map given", function()
    local _, T, labels = read(IRIS, { target = 3, labels = { "virginica", "setosa", "versicolor" } })
    assert.same({ 2, 3, 1, 2 }, T)
    assert.same({ "virginica", "setosa", "versicolor" }, labels)
  end)

  it("reads a column of numbers as a target matrix, and no target when target is false", function()
    local X, T, labels, columns = read("a,b,y\n1,2,0.5\n3,4,-1e-3\n", { target = "y" })
    assert.same({ { 1, 2 }, { 3, 4 } }, X:to_table())
    assert.same(f32_rows{ { "0.5" }, { "-1e-3" } }, T:to_table())
    assert.is_nil(labels)
    assert.same({ "a", "b" }, columns)
    X, T, labels, columns = read("a,b,y\n1,2,0.5\n", { target = false })
    assert.same({ { 1, 2, 0.5 } }, X:to_table())
    assert.is_nil(T)
    assert.is_nil(labels)
    assert.same({ "a", "b", "y" }, columns)
  end)

  it("reads numbers as labels with classes = true", function()
    local _, T, labels = read("a,y\n1,10\n2,9\n3,10\n", { target = "y", classes = true })
    assert.same({ "10", "9" }, labels)
    assert.same({ 1, 2, 1 }, T)
  end)

  it("reads quoted fields (commas, quotes, line breaks), CRLF, a byte order mark, blank lines", function()
    local text = "\239\187\191\"x, the first\",\"y\"\r\n"
      .. "\" 1.5 \",\"a \"\"quoted\"\", label\"\r\n"
      .. "\r\n"
      .. "2,\"two\r\nlines\"\r\n"
    local X, T, labels, columns = read(text, { target = "y" })
    assert.same({ { 1.5 }, { 2 } }, X:to_table())
    assert.same({ "a \"quoted\", label", "two\r\nlines" }, labels)
    assert.same({ 1, 2 }, T)
    assert.same({ "x, the first" }, columns)
  end)

  it("reads a gzip file as the file it holds", function()
    write(path, IRIS)
    assert(compat.execute("gzip -n -k " .. path))
    local _, T, labels = nn.read_csv(path .. ".gz", { target = "species" })
    assert.same({ 1, 2, 3, 1 }, T)
    assert.same({ "setosa", "versicolor", "virginica" }, labels)
  end)

  it("reads a file of a header and no rows", function()
    local X, T = read("a,b,y\n", { target = "y" })
    assert.equal(0, X:rows())
    assert.equal(2, X:cols())
    assert.equal(0, T:rows())
  end)

  describe("refuses, naming line and column", function()
    it("a record with another number of fields than the header", function()
      assert.equal(path .. ": line 3: 3 fields, the header has 4",
                   refused("a,b,c,d\n1,2,3,4\n1,2,3\n", { target = 4 }))
    end)

    it("a value that is not a number, or empty", function()
      assert.equal(path .. ": line 3, column 2 ('sepal_width'): '3,2' is not a number",
                   refused("sepal_length,sepal_width,species\n1,2,a\n1,\"3,2\",b\n",
                           { target = "species" }))
      assert.equal(path .. ": line 2, column 1 ('a'): empty field",
                   refused("a,y\n ,x\n", { target = "y" }))
      assert.equal(path .. ": line 2, column 1 ('a'): 'inf' is not a number",
                   refused("a,y\ninf,x\n", { target = "y" }))
      assert.equal(path .. ": line 2, column 1 ('a'): '-1e40' is out of range for float32",
                   refused("a,y\n-1e40,x\n", { target = "y" }))
      assert.equal(path .. ": line 3, column 2 ('y'): 'x' is not a number",
                   refused("a,y\n1,2\n1,x\n", { target = "y", classes = false }))
    end)

    it("a target column that the header does not have, or has twice", function()
      assert.equal(path .. ": line 1: the header has no column 'kind'",
                   refused(IRIS, { target = "kind" }))
      assert.equal(path .. ": line 1: the header names column 1 and column 3 'y'",
                   refused("y,a,y\n1,2,3\n", { target = "y" }))
      assert.equal(path .. ": line 1: the header has 4 columns, not 5",
                   refused(IRIS, { target = 5 }))
      assert.equal(path .. ": line 1: no column is left for the inputs",
                   refused("y\n1\n", { target = 1 }))
    end)

    it("quotes out of place", function()
      assert.equal(path .. ": line 2: a quoted field opened on this line never closes",
                   refused("a,y\n1,\"x\n2,y\n", { target = "y" }))
      assert.equal(path .. ": line 2, column 2: text after the closing quote",
                   refused("a,y\n1,\"x\"y\n", { target = "y" }))
      assert.equal(path .. ": line 2, column 2: a quote inside a field that does not start "
                   .. "with one", refused("a,y\n1,x\"y\"\n", { target = "y" }))
    end)

    it("a zero byte", function()
      assert.equal(path .. ": line 2, column 2: a zero byte",
                   refused("a,y\n1,x\0y\n", { target = "y" }))
    end)

    it("labels that are empty, or not in the map given", function()
      assert.equal(path .. ": line 3, column 2 ('y'): empty label",
                   refused("a,y\n1,x\n2,\n", { target = "y" }))
      assert.equal(path .. ": line 4, column 3 ('species'): 'virginica' is not one of "
                   .. "the 2 labels given", refused(IRIS, { target = "species",
                                                           labels = { "setosa", "versicolor" } }))
      assert.equal(path .. ": labels[3] repeats labels[1] 'a'",
                   refused(IRIS, { target = "species", labels = { "a", "b", "a" } }))
    end)

    it("an empty file", function()
      assert.equal(path .. ": the file is empty: no header row", refused("", { target = 1 }))
    end)

    it("bad options, naming them", function()
      write(path, IRIS)
      local read_csv = "read_csv"
      assert.equal("bad argument #2 to 'read_csv' (table expected, got no value)",
                   error_of(read_csv, path))
      assert.equal("bad argument #2 to 'read_csv' (option 'target' must be a column name, "
                   .. "a 1-based column index or false)", error_of(read_csv, path, {}))
      assert.equal("bad argument #2 to 'read_csv' (option 'target' must be a column name, "
                   .. "a 1-based column index or false)", error_of(read_csv, path, { target = 0 }))
      assert.equal("bad argument #2 to 'read_csv' (unknown option 'label' (did you mean 'labels'?))",
                   error_of(read_csv, path, { target = 1, label = {} }))
      assert.equal("bad argument #2 to 'read_csv' (option 'classes' must be a boolean)",
                   error_of(read_csv, path, { target = 1, classes = "yes" }))
      assert.equal("bad argument #2 to 'read_csv' (option 'labels' needs classes, not "
                   .. "numbers)", error_of(read_csv, path, { target = 1, classes = false,
                                                              labels = { "a" } }))
      assert.equal("bad argument #2 to 'read_csv' (labels[2] is not a non-empty string)",
                   error_of(read_csv, path, { target = 1, labels = { "a", "" } }))
      assert.equal("bad argument #2 to 'read_csv' (options 'classes' and 'labels' need a "
                   .. "target column)", error_of(read_csv, path, { target = false,
                                                                    classes = true }))
    end)
  end)
end)
