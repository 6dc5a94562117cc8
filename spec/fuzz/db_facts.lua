--- The facts a store file gives through nn (spec/fuzz/db.lua): each
-- version loaded, each version's training run, each label map read by
-- classify, the SQL functions' answers; every one as a string, so that a file's facts and the valid
-- file's can be compared one by one.  Used by the fuzzer on the valid file
-- and by its child (db_child.lua) on each mutated one.

local facts = {}

--- What a loaded network is: its listing, sizes, labels and every weight
-- to the bit.
function facts.describe(net)
  local parts = { tostring(net), ("%d %d %d"):format(net:n_inputs(), net:n_outputs(),
    net:n_params()) }
  local labels = net:labels()
  parts[#parts + 1] = labels and table.concat(labels, "\0") or "(no labels)"
  local linear = {}
  local listing = tostring(net)
  if listing:find("^nn%.Linear") then linear[1] = 1 end
  for i in listing:gmatch("%((%d+)%): nn%.Linear") do linear[#linear + 1] = tonumber(i) end
  for _, i in ipairs(linear) do
    local W, b = net:get_weights(i)
    for _, row in ipairs(W) do
      for _, v in ipairs(row) do parts[#parts + 1] = ("%a"):format(v) end
    end
    for _, v in ipairs(b) do parts[#parts + 1] = ("%a"):format(v) end
  end
  return table.concat(parts, " ")
end

--- What a training run read back is (store:history): every field, every
-- number to the bit, options with their keys sorted; "(no run)" for nil.
function facts.history(h)
  if h == nil then return "(no run)" end
  local function value(v)
    if type(v) == "number" then return ("%a"):format(v) end
    if type(v) ~= "table" then return ("%q"):format(tostring(v)) end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts + 1] = tostring(k) .. "=" .. value(v[k]) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return value(h)
end

--- The questions asked of a file: { key = function(store) -> string }.
-- models: { { name =, versions =, maps =, input = } }.
function facts.questions(models)
  local q = {}
  for _, m in ipairs(models) do
    local json = "[" .. table.concat(m.input, ",") .. "]"
    for v = 1, m.versions do
      q[#q + 1] = { ("load %s@%d"):format(m.name, v), function(store)
        return facts.describe(store:load(m.name, v))
      end }
      q[#q + 1] = { ("history %s@%d"):format(m.name, v), function(store)
        return facts.history(store:history(m.name, v))
      end }
      q[#q + 1] = { ("nn_forward %s@%d"):format(m.name, v), function(store)
        for row in store:rows("SELECT nn_forward(?, ?) AS y", m.name .. "@" .. v, json) do
          return tostring(row.y)
        end
      end }
    end
    q[#q + 1] = { "load " .. m.name, function(store)
      return facts.describe(store:load(m.name))
    end }
    for _, map in ipairs(m.maps) do
      q[#q + 1] = { ("classify %s:%s"):format(m.name, map), function(store)
        local label, score = store:classify(m.name, m.input, { labels = map })
        return ("%s %a"):format(tostring(label), score)
      end }
      q[#q + 1] = { ("nn_classify %s:%s"):format(m.name, map), function(store)
        for row in store:rows("SELECT nn_classify(?, ?) AS label", m.name .. ":" .. map, json) do
          return tostring(row.label)
        end
      end }
    end
  end
  return q
end

return facts
