--- Compiling and running the C programs that some specs check
-- (spec/support/*.c, examples/host.c): with the flags of the build, warnings
-- as errors.

local compat = require "spec.support.compat"

local c = {}

c.CC = os.getenv("CC") or "cc"
-- What runs the programs CC makes: nothing for a native compiler, an
-- emulator for a cross compiler (make check-arm: qemu-aarch64).
c.RUN = os.getenv("NN_RUN")

--- The engine's sources: what a C host compiles (see src/nn_engine.h).
c.ENGINE = "src/nn_engine.c src/nn_kernel.c src/nn_kernel_x86.c src/nn_kernel_neon.c " ..
  "src/nn_train.c src/nn_train_kinds.c"

--- The readers and writers of other tools' formats (src/nn_io.h), beside the engine.
c.IO = "src/nn_io.c src/nn_protobuf.c src/nn_onnx_proto.c src/nn_onnx_read.c " ..
  "src/nn_onnx_write.c src/nn_fann.c src/nn_ftoa.c"

--- Compile sources (and link libs) into a temporary executable; its path.
-- Raises with the compiler's output when it fails.
function c.compile(sources, libs)
  local exe = os.tmpname()
  local ok, log = compat.run(("%s -std=c99 -Wall -Wextra -pedantic -Werror -O2 -Isrc %s %s -o %s")
    :format(c.CC, sources, libs or "-lm", exe))
  assert(ok, "compile failed:\n" .. log)
  return exe
end

--- Run exe with args; its standard output and error.  Raises when it fails.
function c.run(exe, args)
  local ok, out = compat.run((c.RUN and c.RUN .. " " or "") .. exe .. " " .. (args or ""))
  assert(ok, "program failed:\n" .. out)
  return out
end

return c
