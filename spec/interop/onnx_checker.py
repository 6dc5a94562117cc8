"""onnx.checker on nn's ONNX exports, for `make check-onnx`.

    python3 spec/interop/onnx_checker.py FILE.onnx...

Checks each file with onnx.checker.check_model (full_check: shapes
inferred too), and that it is what nn promises: opset 13 or later of the
default domain, one input and one output whose first dimension is symbolic.
Prints "NAME checker ok" per file; exits 1 at the first that fails.
"""
import os
import sys

import onnx


def main(paths):
    for path in paths:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
        assert opset and opset[0] >= 13, "%s: opset %s" % (path, opset)
        graph = model.graph
        assert len(graph.input) == 1 and len(graph.output) == 1, path
        for v in (graph.input[0], graph.output[0]):
            dim = v.type.tensor_type.shape.dim[0]
            assert dim.dim_param and not dim.dim_value, "%s: %s has a fixed batch" % (path, v.name)
        print("%s checker ok" % os.path.basename(path))


if __name__ == "__main__":
    main(sys.argv[1:])
