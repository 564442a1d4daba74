#!/usr/bin/env python3
"""The PyTorch fixtures of PyTorchFixtureTest, and the check of a file written by siamese4j.

    python3 make_fixtures.py                    # rewrites fixture.safetensors and io.safetensors here
    python3 make_fixtures.py check FILE         # loads FILE into the model with load_state_dict(strict=True)

Needs only torch (made with Debian's python3-torch 1.13): the `safetensors` package is not used, so the writer
below does by hand what `safetensors.torch.save_file` does (safetensors 0.4 and later):
  - 8 bytes: the header length N, unsigned little-endian;
  - N bytes: compact JSON (no spaces), `__metadata__` first when given, then one entry per tensor
    {"dtype", "shape", "data_offsets"}, padded with spaces to a multiple of 8 bytes;
  - the data, tensors sorted by dtype, widest-aligned first in the order of the reference's Dtype enum (so I64
    before F32), then by name; the header lists them in the same order.
PyTorch's state dict keeps batch norm's num_batches_tracked as an int64 scalar, so it is written as I64 with
shape [], exactly as `save_file(model.state_dict(), ...)` writes it.
"""
import json
import struct
import sys
from pathlib import Path

import torch
import torch.nn as nn

HERE = Path(__file__).resolve().parent

# The same network as the spec, layer i = child i of nn.Sequential, so the state-dict names match.
ARCH = "conv(4,3,stride=2,pad=1,pad_mode=reflect) batchnorm tanh avgpool(2) flatten dense(5) batchnorm sigmoid"
INPUT = (2, 11, 11)


def build():
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=2, padding=1, padding_mode="reflect"),  # 4x6x6
        nn.BatchNorm2d(4),
        nn.Tanh(),
        nn.AvgPool2d(2),                                                  # 4x3x3
        nn.Flatten(),
        nn.Linear(36, 5),
        nn.BatchNorm1d(5),
        nn.Sigmoid())


# The reference writer's Dtype enum order (safetensors/src/tensor.rs); it sorts tensors by it, descending.
DTYPE_ORDER = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ",
               "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"]
TORCH_TO_ST = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
               torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
               torch.bool: "BOOL"}
ST_TO_TORCH = {v: k for k, v in TORCH_TO_ST.items()}


def save_file(tensors, path, metadata=None):
    """What safetensors.torch.save_file writes, byte for byte for these dtypes."""
    items = sorted(tensors.items(), key=lambda kv: kv[0])
    items = sorted(items, key=lambda kv: DTYPE_ORDER.index(TORCH_TO_ST[kv[1].dtype]), reverse=True)  # stable
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    data = bytearray()
    for name, t in items:
        raw = t.detach().contiguous().cpu().numpy().tobytes()  # little-endian on every machine torch runs on
        header[name] = {"dtype": TORCH_TO_ST[t.dtype], "shape": list(t.shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + bytes(data))


def load_file(path):
    """Tensors (header order) and metadata of a safetensors file, with the checks the format asks for."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors, covered = {}, 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, end = info["data_offsets"]
        dtype = ST_TO_TORCH[info["dtype"]]
        assert begin == covered, f"{name}: gap or overlap at {begin}"
        count = 1
        for d in info["shape"]:
            count *= d
        assert end - begin == count * torch.empty(0, dtype=dtype).element_size(), f"{name}: wrong byte length"
        covered = end
        flat = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if end > begin else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(info["shape"])
    assert covered == len(data), "bytes after the last tensor"
    return {k: tensors[k] for k in header}, metadata


def settle(model, batchnorms, input_shape):
    """Moves the batch norms away from their initial state, so loading one wrongly shows; leaves eval mode on."""
    # Scale and shift away from 1 and 0.
    for bn in batchnorms:
        nn.init.uniform_(bn.weight, 0.5, 1.5)
        nn.init.uniform_(bn.bias, -0.5, 0.5)
    # Three training-mode passes: running statistics move and num_batches_tracked becomes 3.
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(4, *input_shape) * 1.5 + 0.25)
    model.eval()


def make():
    torch.manual_seed(15)
    model = build()
    settle(model, (model[1], model[6]), INPUT)
    state = model.state_dict()
    assert state["1.num_batches_tracked"].dtype == torch.int64 and state["1.num_batches_tracked"].item() == 3
    save_file(state, HERE / "fixture.safetensors", metadata={"arch": ARCH, "input": "x".join(map(str, INPUT))})

    x = torch.randn(3, *INPUT)
    with torch.no_grad():
        y = model(x)
    save_file({"input": x, "embeddings": y}, HERE / "io.safetensors")

    back, _ = load_file(HERE / "fixture.safetensors")  # the writer and reader agree
    assert back.keys() == state.keys() and all(torch.equal(back[k], state[k]) for k in state)
    print("wrote fixture.safetensors and io.safetensors; embeddings:")
    print(y)


def check(path):
    """PyTorch loads a file written by siamese4j strictly and computes the same embeddings."""
    state, metadata = load_file(path)
    print("metadata:", metadata)
    for name, t in state.items():
        print(f"  {name}: {str(t.dtype).replace('torch.', '')} {list(t.shape)}"
              + (f" = {t.item()}" if t.dim() == 0 else ""))
    model = build()
    result = model.load_state_dict(state, strict=True)  # raises on any missing or unexpected key
    print("load_state_dict(strict=True):", result)
    expected = model.state_dict()
    wrong = [k for k in expected if state[k].dtype != expected[k].dtype]
    print("dtypes differing from PyTorch's state_dict:", wrong or "none")
    model.eval()
    io, _ = load_file(HERE / "io.safetensors")
    with torch.no_grad():
        y = model(io["input"])
    print("max |embedding - fixture embedding|:", (y - io["embeddings"]).abs().max().item())


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "check":
        check(sys.argv[2])
    elif len(sys.argv) == 1:
        make()
    else:
        sys.exit(__doc__)
