--- Compiling and running the C programs that some specs check
-- (spec/support/*.c, examples/host.c): with the flags of the build, warnings
-- as errors.

local compat = require "spec.support.compat"

local c = {}

c.CC = os.getenv("CC") or "cc"
-- What runs the programs CC makes: nothing for a native compiler, an
-- emulator for a cross compiler (make check-arm: qemu-aarch64).
c.RUN = os.getenv("NN_RUN")

--- The engine's sources: what a C host compiles (see src/engine/nn_engine.h).
c.ENGINE = "src/engine/nn_engine.c src/engine/nn_status.c src/engine/nn_kind_linear.c src/engine/nn_kind_act.c src/engine/nn_kind_smooth.c src/engine/nn_kind_norm.c src/engine/nn_kind_train.c src/engine/nn_kind_embed.c src/engine/nn_kind_conv.c src/engine/nn_kind_pool.c src/engine/nn_kind_join.c "
  .. "src/engine/nn_kernel.c src/engine/nn_kernel_generic.c src/engine/nn_kernel_x86.c "
  .. "src/engine/nn_kernel_neon.c src/engine/nn_pool.c src/train/nn_train.c"

--- The readers and writers of other tools' formats (src/formats/), beside the engine.
c.IO = "src/formats/nn_io.c src/formats/nn_protobuf.c src/formats/nn_onnx_names.c " ..
  "src/formats/nn_onnx_proto.c " ..
  "src/formats/nn_onnx_read.c src/formats/nn_onnx_write.c src/formats/nn_fann.c src/formats/nn_ftoa.c"

--- The store's core, without its data readers: what the SQL extension links.
c.STORE = "src/formats/nn_sha256.c src/formats/nn_digest.c src/store/nn_store_owner.c src/store/nn_store_conn.c src/store/nn_store_facts.c "
  .. "src/store/nn_store_labels.c "
  .. "src/store/nn_store_version.c src/store/nn_store_train.c src/store/nn_store_log.c "
  .. "src/store/nn_store_catalog.c src/store/nn_store_cursor.c src/store/nn_store.c"

--- The include path of the build: src/ for "engine/nn_kernel.h" and the like,
-- src/engine for the public headers as a host includes them ("nn_engine.h").
c.INCLUDES = "-Isrc -Isrc/engine"

--- Compile sources (and link libs) into a temporary executable; its path.
-- Raises with the compiler's output when it fails.
function c.compile(sources, libs)
  local exe = os.tmpname()
  local ok, log = compat.run(("%s -std=c99 -Wall -Wextra -pedantic -Werror -O2 %s %s %s -o %s")
    :format(c.CC, c.INCLUDES, sources, libs or "-lm", exe))
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
