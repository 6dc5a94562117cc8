--- Small helpers the kinds' specs share: a float's unit in the last place,
-- and the words of an error.
--
--   local check = require "spec.support.check"
--   assert(math.abs(got - want) <= 2 * check.ulp(want))
--   assert.equal("bad argument ...", check.message(nn.Dropout, 1))

local check = {}

--- A unit in the last place of the float32 nearest y (2^-149 for subnormals).
function check.ulp(y)
  y = math.abs(y)
  if y < 2 ^ -126 then return 2 ^ -149 end
  local _, e = math.frexp(y)
  return 2 ^ (e - 24)
end

--- The message f(...) raises, without the "file:line: " before it; fails
-- the spec when f does not raise.
function check.message(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "the call did not raise")
  return (tostring(e):gsub("^[^:]*:%d+: ", ""))
end

return check
