-- nn.read_fann_data against libfann, the library that defines the format:
-- FANN's own example and benchmark files read by both, every number equal
-- as float32.  Needs libfann-dev (a bench dependency, with the files in its
-- examples); without it these are pending.

local nn = require "nn"
local compat = require "spec.support.compat"
local c = require "spec.support.c"

--- The float32 that 9 significant digits name.
local function f32(text) return compat.f32(tonumber(text)) end

local EXAMPLES = "/usr/share/doc/libfann-dev/examples/"
local FILES = { "xor.data", "datasets/thyroid.test", "datasets/soybean.test",
                "datasets/building.test" }

local header = io.open("/usr/include/floatfann.h")
if header then header:close() end

describe("nn.read_fann_data against libfann", function()
  local exe
  setup(function()
    if header then exe = c.compile("spec/support/fann_data_check.c", "-lfloatfann -lm") end
  end)
  teardown(function() if exe then os.remove(exe) end end)

  for _, file in ipairs(FILES) do
    (header and it or pending)(("reads %s as fann_read_train_from_file does"):format(file), function()
      local path = EXAMPLES .. file
      local X, T = nn.read_fann_data(path)
      local lines = c.run(exe, path):gmatch("[^\n]+")
      local n, n_in, n_out = lines():match("^(%d+) (%d+) (%d+)$")
      assert.same({ tonumber(n), tonumber(n_in), tonumber(n_out) },
                  { X:rows(), X:cols(), T:cols() })
      local i = 0
      for line in lines do
        i = i + 1
        local j = 0
        for v in line:gmatch("%S+") do
          j = j + 1
          local got = j <= X:cols() and X:get(i, j) or T:get(i, j - X:cols())
          if got ~= f32(v) then
            error(("pair %d, number %d: libfann %s, nn %.9g"):format(i, j, v, got))
          end
        end
      end
      assert.equal(X:rows(), i)
    end)
  end
end)
