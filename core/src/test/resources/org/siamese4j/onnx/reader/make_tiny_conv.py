#!/usr/bin/env python3
"""The PyTorch-made ONNX file of OnnxPyTorchFileTest, and what it holds, decoded independently of the Java reader.

    python3 make_tiny_conv.py      # rewrites tiny_conv.onnx and tiny_conv.txt here

Needs only torch (made with Debian's python3-torch 1.13; the `onnx` package is not installed and not used).
torch.onnx.export writes tiny_conv.onnx: a small random-weight conv net with batch norm (folded into the conv by
the exporter), PReLU, max pooling, a depthwise convolution in a residual block, global average pooling, a
reshape (a Constant node holding an INT64 tensor) and a linear layer, with a symbolic batch dimension.

tiny_conv.txt lists what the file holds, as decoded below by a protobuf reader of a few lines: the producer, IR
version and opsets, the graph inputs and outputs with their shapes, every node with its attributes, and every
initializer with its values, one tab-separated line each (the test renders the Java reader's model the same way
and compares the text). Float values are their float32 bits in hexadecimal, so the comparison is exact. The decoding is checked against the network itself before anything is written: the
linear layer's weights and the PReLU slopes must be the file's initializers, and the conv weights the batch-norm
folding of the network's. Field numbers are those of onnx/onnx.proto (github.com/onnx/onnx).
"""
import struct
from pathlib import Path

import torch
import torch.nn as nn

HERE = Path(__file__).resolve().parent


class TinyConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8),
                                  nn.PReLU(8), nn.MaxPool2d(2))
        self.depthwise = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.depthwise(x)
        x = self.pool(x).reshape(-1, 8)
        return self.fc(x)


# ---------------------------------------------------------------------------------------------------------------
# A protobuf decoder of a few lines: field number -> list of raw values (ints for varints and fixed, bytes else)
# ---------------------------------------------------------------------------------------------------------------

def varint(b, i):
    shift = value = 0
    while True:
        byte = b[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def fields(b):
    out, i = {}, 0
    while i < len(b):
        tag, i = varint(b, i)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, i = varint(b, i)
        elif wire == 1:
            value, i = b[i:i + 8], i + 8
        elif wire == 2:
            n, i = varint(b, i)
            value, i = b[i:i + n], i + n
        elif wire == 5:
            value, i = b[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


def signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def text(fs, number):
    return fs[number][-1].decode("utf-8") if number in fs else ""


def ints(fs, number):
    """A repeated int64, packed or not."""
    out = []
    for v in fs.get(number, []):
        if isinstance(v, int):
            out.append(signed(v))
        else:
            i = 0
            while i < len(v):
                x, i = varint(v, i)
                out.append(signed(x))
    return out


def floats(fs, number):
    """A repeated float, packed or not."""
    return [x for v in fs.get(number, []) for x in struct.unpack(f"<{len(v) // 4}f", v)]


DATA_TYPES = {1: "FLOAT", 7: "INT64"}
ATTRIBUTE_TYPES = {1: "FLOAT", 2: "INT", 3: "STRING", 4: "TENSOR", 6: "FLOATS", 7: "INTS", 8: "STRINGS"}


def tensor(b):
    fs = fields(b)
    data_type = DATA_TYPES[fs[2][-1]]
    raw = fs[9][-1]
    values = list(struct.unpack(f"<{len(raw) // 4}f", raw)) if data_type == "FLOAT" \
        else list(struct.unpack(f"<{len(raw) // 8}q", raw))
    return {"name": text(fs, 8), "data_type": data_type, "dims": ints(fs, 1), "values": values}


def attribute(b):
    fs = fields(b)
    kind = ATTRIBUTE_TYPES[fs[20][-1]]
    value = {"FLOAT": lambda: floats(fs, 2)[0], "INT": lambda: ints(fs, 3)[0], "STRING": lambda: text(fs, 4),
             "TENSOR": lambda: tensor(fs[5][-1]), "FLOATS": lambda: floats(fs, 7), "INTS": lambda: ints(fs, 8),
             "STRINGS": lambda: [s.decode("utf-8") for s in fs.get(9, [])]}[kind]()
    return {"name": text(fs, 1), "type": kind, "value": value}


def node(b):
    fs = fields(b)
    return {"name": text(fs, 3), "op_type": text(fs, 4), "domain": text(fs, 7),
            "inputs": [s.decode("utf-8") for s in fs.get(1, [])],
            "outputs": [s.decode("utf-8") for s in fs.get(2, [])],
            "attributes": [attribute(a) for a in fs.get(5, [])]}


def value_info(b):
    fs = fields(b)
    tensor_type = fields(fields(fs[2][-1])[1][-1])
    dims = []
    for d in fields(tensor_type[2][-1]).get(1, []):
        dfs = fields(d)
        dims.append(ints(dfs, 1)[0] if 1 in dfs else text(dfs, 2))
    return {"name": text(fs, 1), "elem_type": DATA_TYPES[tensor_type[1][-1]], "shape": dims}


def decode(path):
    fs = fields(Path(path).read_bytes())
    graph = fields(fs[7][-1])
    return {
        "producer_name": text(fs, 2), "producer_version": text(fs, 3), "ir_version": fs[1][-1],
        "opsets": [{"domain": text(o, 1), "version": o[2][-1]} for o in map(fields, fs.get(8, []))],
        "graph_name": text(graph, 2),
        "nodes": [node(n) for n in graph.get(1, [])],
        "initializers": [tensor(t) for t in graph.get(5, [])],
        "inputs": [value_info(v) for v in graph.get(11, [])],
        "outputs": [value_info(v) for v in graph.get(12, [])],
    }


def check(model, decoded):
    """The decoder read the weights the network has: a mistake in it would make the JSON wrong too."""
    weights = {t["name"]: torch.tensor(t["values"]).reshape(t["dims"]) for t in decoded["initializers"]
               if t["data_type"] == "FLOAT"}
    found = lambda w: any(v.shape == w.shape and torch.equal(v, w) for v in weights.values())
    assert found(model.fc.weight.detach()), "the linear layer's weight is not among the initializers"
    assert found(model.fc.bias.detach()), "the linear layer's bias is not among the initializers"
    assert found(model.depthwise[0].weight.detach()), "the depthwise weight is not among the initializers"
    slopes = [v for v in weights.values() if v.numel() == 8 and torch.equal(v.flatten(), model.stem[2].weight)]
    assert slopes, "the PReLU slopes are not among the initializers"
    bn = model.stem[1]
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    folded = (model.stem[0].weight * scale.reshape(-1, 1, 1, 1)).detach()
    assert any(v.shape == folded.shape and torch.allclose(v, folded, atol=1e-6) for v in weights.values()), \
        "the batch-norm folded conv weight is not among the initializers"
    shapes = [n for n in decoded["nodes"] if n["op_type"] == "Constant"]
    assert shapes and shapes[0]["attributes"][0]["value"]["values"] == [-1, 8], "the reshape constant"


def hex_floats(values):
    return ",".join(struct.pack(">f", v).hex() for v in values)


def render_tensor(t):
    values = hex_floats(t["values"]) if t["data_type"] == "FLOAT" else ",".join(map(str, t["values"]))
    return f"{t['name']}\t{t['data_type']}\t{','.join(map(str, t['dims']))}\t{values}"


def render_attribute(a):
    value = a["value"]
    shown = {"FLOAT": lambda: hex_floats([value]), "INT": lambda: str(value), "STRING": lambda: value,
             "TENSOR": lambda: render_tensor(value), "FLOATS": lambda: hex_floats(value),
             "INTS": lambda: ",".join(map(str, value)), "STRINGS": lambda: ",".join(value)}[a["type"]]()
    return f" attribute\t{a['name']}\t{a['type']}\t{shown}"


def render(d):
    lines = [f"producer\t{d['producer_name']}\t{d['producer_version']}", f"ir_version\t{d['ir_version']}"]
    lines += [f"opset\t{o['domain']}\t{o['version']}" for o in d["opsets"]]
    lines.append(f"graph\t{d['graph_name']}")
    for kind in ("input", "output"):
        lines += [f"{kind}\t{v['name']}\t{v['elem_type']}\t{','.join(map(str, v['shape']))}" for v in d[kind + "s"]]
    for n in d["nodes"]:
        lines.append(f"node\t{n['op_type']}\t{n['name']}\t{n['domain']}\t{','.join(n['inputs'])}\t"
                     f"{','.join(n['outputs'])}")
        lines += [render_attribute(a) for a in n["attributes"]]
    lines += ["initializer\t" + render_tensor(t) for t in d["initializers"]]
    return "\n".join(lines) + "\n"


def main():
    torch.manual_seed(18)
    model = TinyConv()
    with torch.no_grad():  # running statistics of their own, so the folding is not the identity
        model.stem[1].running_mean.uniform_(-0.5, 0.5)
        model.stem[1].running_var.uniform_(0.5, 2.0)
        model.stem[2].weight.uniform_(0.1, 0.4)
    model.eval()
    out = HERE / "tiny_conv.onnx"
    torch.onnx.export(model, torch.randn(2, 3, 16, 16), str(out), opset_version=13,
                      input_names=["input"], output_names=["embedding"],
                      dynamic_axes={"input": {0: "batch"}, "embedding": {0: "batch"}})
    decoded = decode(out)
    check(model, decoded)
    (HERE / "tiny_conv.txt").write_text(render(decoded))
    print(f"{out.name}: {out.stat().st_size} bytes, {len(decoded['nodes'])} nodes, "
          f"{len(decoded['initializers'])} initializers")


if __name__ == "__main__":
    main()
