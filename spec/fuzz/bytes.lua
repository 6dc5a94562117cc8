--- Fuzzer: mutated store images through nn.open_bytes, then load, history,
-- classify and the SQL functions: the db fuzzer's cases (spec/fuzz/db.lua),
-- each file's bytes handed over as a string (see spec/fuzz/run.lua).

local db = require "spec.fuzz.db"

return function(t, n, from) return db.fuzz(t, n, from, "bytes") end
