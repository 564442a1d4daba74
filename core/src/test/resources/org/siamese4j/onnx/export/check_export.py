"""Runs the ONNX files siamese4j's OnnxExporter wrote here through onnx.checker and ONNX Runtime.

    cd core/src/test/resources/org/siamese4j/onnx/export && python check_export.py

Needs the onnx and onnxruntime packages (made with onnx 1.23.1 and onnxruntime 1.30.0); numpy comes with them.
For each NAME.onnx: the full check of onnx.checker (with strict shape inference), then ONNX Runtime on the CPU
with every graph optimisation off (the operators' own maths, nothing fused) on a seeded batch of 3 inputs
uniform in [-1, 1]; its output must have unit rows, and each sample run alone must give its row of the batch.
Writes NAME_io.safetensors: `input` [3, C, H, W] and ORT's `output` [3, D], F32, by hand (the safetensors
package is not needed). OnnxExportParityTest compares our own forward with that output.
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

HERE = Path(__file__).resolve().parent
BATCH = 3


def save_safetensors(tensors, path, metadata):
    """F32 tensors, in the order given, with the header safetensors writes (offsets, then __metadata__)."""
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the reference writer pads the header to 8 bytes
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def check(path, seed):
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    assert (inp.name, out.name) == ("input", "embedding"), (inp.name, out.name)
    assert inp.shape[0] == "batch" and out.shape[0] == "batch", (inp.shape, out.shape)
    x = np.random.default_rng(seed).uniform(-1, 1, size=[BATCH] + inp.shape[1:]).astype(np.float32)
    (y,) = session.run(None, {"input": x})
    assert list(y.shape) == [BATCH] + out.shape[1:], (y.shape, out.shape)
    norms = np.linalg.norm(y, axis=1)
    assert np.allclose(norms, 1, atol=1e-5), norms
    alone = np.concatenate([session.run(None, {"input": x[i:i + 1]})[0] for i in range(BATCH)])
    batch_vs_alone = float(np.abs(alone - y).max())
    assert batch_vs_alone < 1e-6, batch_vs_alone
    cosines = y @ y.T
    save_safetensors({"input": x, "output": y}, path.with_name(path.stem + "_io.safetensors"),
                     {"made_by": f"check_export.py, onnxruntime {ort.__version__}, onnx {onnx.__version__}",
                      "model": path.name})
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"{path.name}: ok; input {inp.shape} -> output {out.shape}; {len(model.graph.node)} nodes "
          f"({', '.join(ops)}); batch vs alone {batch_vs_alone:.1e}; cosines of the rows "
          f"{cosines[0, 1]:.3f} {cosines[0, 2]:.3f} {cosines[1, 2]:.3f}")


def main():
    files = sorted(HERE.glob("*.onnx"))
    if not files:
        sys.exit(f"no .onnx files in {HERE}: write them with ExportFixtures first")
    for seed, path in enumerate(files):
        check(path, seed)


if __name__ == "__main__":
    main()
