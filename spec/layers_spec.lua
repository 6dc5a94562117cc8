-- The tree is the architecture (ARCHITECTURE.md): every #include and every
-- call between the files of src/ runs downward through the folders
-- (lua -> sql -> store -> formats -> engine; lua -> train -> engine; the
-- extension inside PostgreSQL, pgext -> formats -> engine), and no
-- file is in a circle with another.  Read from the sources and from the
-- symbols of the objects the build made (spec/support/layers.lua).

local compat = require "spec.support.compat"
local layers = require "spec.support.layers"

describe("the layers of src/", function()
  it("have no include or call against the direction of the folders", function()
    local bad = {}
    for _, e in ipairs(layers.against(layers.edges(compat.BUILD))) do
      bad[#bad + 1] = ("%s -> %s (%s)"):format(e.from, e.to, e.why)
    end
    assert.same({}, bad)
  end)

  it("have no circle among their files, counting calls as well as includes", function()
    local found = {}
    for _, c in ipairs(layers.circles(layers.edges(compat.BUILD))) do
      found[#found + 1] = table.concat(c, " <-> ")
    end
    assert.same({}, found)
  end)

  it("are read whole: every folder of src/ is in the rule, every object is read", function()
    for _, f in ipairs(layers.files()) do
      if f.folder ~= "" then
        assert.is_truthy(layers.BELOW[f.folder], f.path .. " is in a folder the rule does not name")
      end
    end
    local calls = layers.symbol_edges(compat.BUILD)
    local from = {}
    for _, e in ipairs(calls) do from[e.from] = true end
    -- the files that must call into others: one per folder at least (the
    -- extension inside PostgreSQL when this build made it: make pgext, which
    -- make test runs, and not the sanitizers' builds)
    local must = { "src/engine/nn_engine.c", "src/train/nn_train.c",
      "src/formats/nn_fann.c", "src/store/nn_store.c", "src/sql/nn_sql.c", "src/lua/nn_lua.c" }
    if compat.execute("test -f " .. compat.BUILD .. "/pgext/nn_pgext_model.o") then
      must[#must + 1] = "src/pgext/nn_pgext_model.c"
    end
    for _, path in ipairs(must) do
      assert.is_true(from[path] == true, path .. " seen calling nothing")
    end
  end)

  describe("the check itself", function()
    it("finds a call up the layers and a call beside them", function()
      local bad = layers.against({
        { from = "src/engine/nn_engine.c", to = "src/store/nn_store.c", why = "x" },
        { from = "src/train/nn_train.c", to = "src/formats/nn_io.c", why = "y" },
        { from = "src/store/nn_store.c", to = "src/engine/nn_engine.c", why = "z" },
      })
      assert.equal(2, #bad)
      assert.equal("src/engine/nn_engine.c", bad[1].from)
      assert.equal("src/train/nn_train.c", bad[2].from)
    end)

    it("keeps the extension inside PostgreSQL off the store and the binding", function()
      local bad = layers.against({
        { from = "src/pgext/nn_pgext.c", to = "src/store/nn_store.c", why = "x" },
        { from = "src/pgext/nn_pgext.c", to = "src/pgstore/nn_pg.c", why = "y" },
        { from = "src/pgext/nn_pgext_model.c", to = "src/formats/nn_arch.c", why = "z" },
        { from = "src/lua/nn_lua.c", to = "src/pgext/nn_pgext.c", why = "w" },
      })
      local to = {}
      for _, e in ipairs(bad) do to[#to + 1] = e.to end
      table.sort(to)
      assert.same({ "src/pgext/nn_pgext.c", "src/pgstore/nn_pg.c", "src/store/nn_store.c" }, to)
    end)

    it("finds a circle of three files and leaves a chain alone", function()
      local circles = layers.circles({
        { from = "a.c", to = "b.c" }, { from = "b.c", to = "c.c" }, { from = "c.c", to = "a.c" },
        { from = "c.c", to = "d.c" }, { from = "d.c", to = "e.c" },
      })
      assert.same({ { "a.c", "b.c", "c.c" } }, circles)
    end)

    it("resolves an include by its folder, and the public header beside nn.h", function()
      local seen = {}
      for _, e in ipairs(layers.include_edges()) do seen[e.from .. " " .. e.to] = true end
      assert.is_true(seen["src/store/nn_store.h src/engine/nn_engine.h"])
      assert.is_true(seen["src/nn.h src/engine/nn_engine.h"])
    end)
  end)
end)
