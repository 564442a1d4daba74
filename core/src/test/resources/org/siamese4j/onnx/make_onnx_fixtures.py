#!/usr/bin/env python3
"""The ONNX fixtures of the ONNX importer: two small random-weight face embedders exported by PyTorch 1.13.

    python3 make_onnx_fixtures.py     # rewrites every file listed in README.md here, README.md included

Needs only torch (made with Debian's python3-torch 1.13): torch.onnx.export does not need the `onnx` package,
the operator lists are read from the written bytes by the protobuf walker below, and the safetensors files are
written by the writer of ../io/pytorch/make_fixtures.py. When `onnx` is importable, its checker also runs and its
operator lists must equal the walker's; when `onnxruntime` is, every file must give torch's output to 1e-6.

Both nets are an nn.Sequential whose residual blocks are `Residual` (below), so their state-dict names are those
of siamese4j's Sequential and Residual (resnet_small: `0.weight`, `4.body.3.weight`, `6.shortcut.0.weight`).
Everything is seeded: running the script twice writes the same bytes.
"""
import sys
import warnings
from collections import Counter
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "io" / "pytorch"))
sys.dont_write_bytecode = True  # no __pycache__ among the test resources
from make_fixtures import save_file  # noqa: E402  (the one safetensors writer of the test resources)

# torch 1.13 writes opsets 7 to 17; 18 is asked for anyway, so that the refusal is on record in README.md.
OPSETS = (9, 11, 13, 17, 18)
# The opset of the extra file that keeps batch norm as BatchNormalization nodes (see export()).
UNFUSED_OPSET = 13
# torch 1.13 writes nothing newer than 17: the newest opset the importer supports is reached by onnx's
# version_converter from the opset-17 file, when the `onnx` package is importable.
CONVERTED_OPSET, CONVERTED_FROM = 21, 17
WARMUP_PASSES, WARMUP_BATCH = 4, 8

# torch 1.13 warns once per export that prim::Constant has no shape inference; it changes nothing written.
warnings.filterwarnings("ignore", message="The shape inference of prim::Constant type is missing")
# It also warns that constant folding may change parameters under TrainingMode.PRESERVE; that is so only for a
# model in training mode, and every model here is exported in evaluation mode.
warnings.filterwarnings("ignore", message="It is recommended that constant folding be turned off")


class Residual(nn.Module):
    """body(x) + shortcut(x), or body(x) + x without a shortcut: the PyTorch twin of org.siamese4j.nn.Residual."""

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x):
        return self.body(x) + (x if self.shortcut is None else self.shortcut(x))


class L2Normalize(nn.Module):
    """F.normalize along dim 1 with torch's eps 1e-12, left to torch 1.13 to write into the graph."""

    def forward(self, x):
        return F.normalize(x, p=2.0, dim=1)


# ---- MobileFaceNet-like: depthwise separable bottlenecks, PReLU, GDC head, 3x112x112 RGB -> 128 ----

def conv_bn_prelu(cin, cout, k, stride=1, groups=1):
    return [nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout), nn.PReLU(cout)]


def bottleneck(cin, cout, expansion, stride):
    """1x1 expand, depthwise 3x3, 1x1 project (linear): a Residual when the shape is kept, else plain layers."""
    hidden = cin * expansion
    body = [*conv_bn_prelu(cin, hidden, 1), *conv_bn_prelu(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
    return [Residual(nn.Sequential(*body))] if stride == 1 and cin == cout else body


def mobilefacenet_like():
    layers = [*conv_bn_prelu(3, 16, 3, stride=2),              # 16x56x56
              *conv_bn_prelu(16, 16, 3, groups=16)]            # depthwise
    for cin, cout, expansion, stride in [(16, 24, 2, 2), (24, 24, 2, 1),   # 24x28x28
                                         (24, 32, 2, 2), (32, 32, 2, 1),   # 32x14x14
                                         (32, 40, 2, 2), (40, 40, 2, 1)]:  # 40x7x7
        layers += bottleneck(cin, cout, expansion, stride)
    layers += conv_bn_prelu(40, 64, 1)
    layers += [nn.Conv2d(64, 64, 7, groups=64, bias=False), nn.BatchNorm2d(64),  # GDC: 64x1x1
               nn.Flatten(), nn.Linear(64, 128, bias=False), nn.BatchNorm1d(128), L2Normalize()]
    return nn.Sequential(*layers)


# ---- a small ResNet tower: BasicBlocks with identity and projection shortcuts, 1x112x92 grey (AT&T) -> 128 ----

def basic_block(cin, cout, stride):
    body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout))
    shortcut = None
    if stride != 1 or cin != cout:
        shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
    return [Residual(body, shortcut), nn.ReLU()]


def resnet_small():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),  # 8x56x46
        nn.MaxPool2d(3, stride=2, padding=1),                                                # 8x28x23
        *basic_block(8, 8, 1),
        *basic_block(8, 16, 2),                                                              # 16x14x12
        *basic_block(16, 16, 1),
        *basic_block(16, 24, 2),                                                             # 24x7x6
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(24, 128), L2Normalize())


NETS = {"mobilefacenet_like": (mobilefacenet_like, (3, 112, 112), 18),
        "resnet_small": (resnet_small, (1, 112, 92), 19)}


def randomise(model, input_shape):
    """Batch-norm affine away from 1 and 0, PReLU slopes away from 0.25, and running statistics that are the
    average of a few training-mode passes (momentum None during them): with torch's momentum 0.1, four passes
    leave two thirds of the initial variance 1 in running_var, and the embeddings of any two inputs came out
    equal to three digits, a fixture that no wrong import could fail."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in model.modules():
        if isinstance(m, nn.PReLU):
            nn.init.uniform_(m.weight, 0.05, 0.45)
    for m in norms:
        nn.init.uniform_(m.weight, 0.5, 1.5)
        nn.init.uniform_(m.bias, -0.3, 0.3)
        m.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(WARMUP_PASSES):
            model(torch.rand(WARMUP_BATCH, *input_shape) * 2 - 1)
    for m in norms:
        m.momentum = 0.1  # torch's default again, so that the exported attribute is the usual 0.9
    model.eval()


def export(model, example, path, opset, fuse_batch_norm=True):
    """torch.onnx.export with a dynamic batch dimension. In evaluation mode (the default, what shipped models
    look like) torch folds every batch norm that follows a convolution into it; TrainingMode.PRESERVE on the
    eval-mode model skips that pass and keeps them as BatchNormalization nodes. Returns the error or None."""
    training = torch.onnx.TrainingMode.EVAL if fuse_batch_norm else torch.onnx.TrainingMode.PRESERVE
    try:
        torch.onnx.export(model, example, str(path), opset_version=opset, do_constant_folding=True,
                          training=training, input_names=["input"], output_names=["embedding"],
                          dynamic_axes={"input": {0: "batch"}, "embedding": {0: "batch"}})
        return None
    except Exception as e:  # torch refuses an opset it does not know with ValueError, others with their own
        path.unlink(missing_ok=True)
        return f"{type(e).__name__}: {e}"


# ---- a protobuf walker for the parts of ModelProto the README lists (field numbers from onnx.proto) ----

def varint(buf, pos):
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def fields(buf):
    """(field number, value) of one message: an int for a varint, a memoryview for the other wire types."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = buf[pos:pos + size], pos + size
        elif wire == 2:
            size, pos = varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
        else:
            raise ValueError(f"wire type {wire} of field {number} at byte {pos}")
        yield number, value


def graph_operators(graph, counts):
    """Counts op types of GraphProto.node (1), NodeProto.op_type (4), domain (7), and of subgraphs in attributes
    (AttributeProto.g (6), graphs (11))."""
    for number, node in fields(graph):
        if number != 1:
            continue
        op, domain = "", ""
        for n, value in fields(node):
            if n == 4:
                op = bytes(value).decode()
            elif n == 7:
                domain = bytes(value).decode()
            elif n == 5:
                for a, sub in fields(value):
                    if a in (6, 11):
                        graph_operators(sub, counts)
        counts[f"{domain}:{op}" if domain else op] += 1


def value_shape(value_info):
    """name [d0,d1,...] of a ValueInfoProto: name (1), type (2) -> tensor_type (1) -> shape (2) -> dim (1) ->
    dim_value (1) or dim_param (2)."""
    name, dims = "", []
    for n, value in fields(value_info):
        if n == 1:
            name = bytes(value).decode()
        elif n == 2:
            for _, tensor_type in (f for f in fields(value) if f[0] == 1):
                for _, shape in (f for f in fields(tensor_type) if f[0] == 2):
                    for _, dim in (f for f in fields(shape) if f[0] == 1):
                        dims += [v if k == 1 else bytes(v).decode() for k, v in fields(dim) if k in (1, 2)]
    return f"{name} [{','.join(map(str, dims))}]"


def describe(path):
    """ir_version (1), opset_import (8), and of graph (7): operator counts, initializers (5), inputs (11) and
    outputs (12)."""
    model = memoryview(path.read_bytes())
    info = {"ops": Counter(), "initializers": 0, "inputs": [], "outputs": [], "opsets": []}
    for number, value in fields(model):
        if number == 1:
            info["ir_version"] = value
        elif number == 8:
            opset = dict(fields(value))
            info["opsets"].append(f"{bytes(opset.get(1, b'')).decode() or 'ai.onnx'} {opset[2]}")
        elif number == 7:
            graph_operators(value, info["ops"])
            for n, item in fields(value):
                if n == 5:
                    info["initializers"] += 1
                elif n in (11, 12):
                    info["inputs" if n == 11 else "outputs"].append(value_shape(item))
    return info


def cross_check(path, info, x, y):
    """What the optional packages can check: onnx's checker accepts the file and reads the walker's operator
    counts; ONNX Runtime computes torch's output. Returns what was checked, for the log."""
    checked = []
    try:
        import onnx
    except ImportError:
        onnx = None
    if onnx:
        model = onnx.load(str(path))
        onnx.checker.check_model(model, full_check=True)
        counts = Counter(n.op_type if not n.domain else f"{n.domain}:{n.op_type}" for n in model.graph.node)
        assert counts == info["ops"], f"{path.name}: onnx reads {counts}, the walker {info['ops']}"
        checked.append(f"onnx {onnx.__version__} checker")
    try:
        import onnxruntime
    except ImportError:
        onnxruntime = None
    if onnxruntime:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (out,) = session.run(None, {"input": x.numpy()})
        difference = (torch.from_numpy(out) - y).abs().max().item()
        assert difference <= 1e-6, f"{path.name}: ONNX Runtime differs from torch by {difference}"
        checked.append(f"onnxruntime {onnxruntime.__version__} max |difference| {difference:.2g}")
    return ", ".join(checked) or "no onnx or onnxruntime to check with"


def convert(name):
    """NET_opset17.onnx converted to opset 21 by onnx's version_converter, written as NET_opset21.onnx; returns
    (file, what changed form) or None without the onnx package."""
    try:
        import onnx
        from onnx import version_converter
    except ImportError:
        return None
    source = onnx.load(str(HERE / f"{name}_opset{CONVERTED_FROM}.onnx"))
    model = version_converter.convert_version(source, CONVERTED_OPSET)
    onnx.checker.check_model(model, full_check=True)
    file = f"{name}_opset{CONVERTED_OPSET}.onnx"
    onnx.save(model, str(HERE / file))

    def forms(m):
        return Counter((n.op_type, len([i for i in n.input if i]), tuple(sorted(a.name for a in n.attribute)))
                       for n in m.graph.node)
    before, after = forms(source), forms(model)
    changes = sorted(f"{op} inputs {k} attributes {list(attrs)}" for (op, k, attrs) in (after - before))
    return file, "; ".join(changes)


# ---- the run ----

def make_net(name):
    build, input_shape, seed = NETS[name]
    torch.manual_seed(seed)
    model = build()
    randomise(model, input_shape)
    x = torch.rand(2, *input_shape) * 2 - 1
    with torch.no_grad():
        y = model(x)
    norms = y.norm(dim=1)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5), norms
    cosine = torch.dot(y[0], y[1]).item()
    assert cosine < 0.99, f"{name}: the two embeddings are alike (cosine {cosine}): the fixture tells nothing apart"
    with torch.no_grad():  # how far an import that shifts the image by one pixel (a padding error) would land
        shifted = (model(torch.roll(x, 1, dims=3)) - y).abs().max().item()
    print(f"{name}: cosine of the two reference embeddings {cosine:.4f}; one pixel to the right moves them by "
          f"up to {shifted:.3f}")
    state = model.state_dict()
    save_file(state, HERE / f"{name}_state.safetensors",
              metadata={"model": name, "input": "x".join(map(str, input_shape)), "made_by": Path(__file__).name})
    save_file({"input": x, "output": y}, HERE / f"{name}_io.safetensors")

    rows, failures = [], []
    example = x[:1]
    files = [(f"{name}_opset{opset}.onnx", opset, True) for opset in OPSETS]
    files.append((f"{name}_opset{UNFUSED_OPSET}_unfused_bn.onnx", UNFUSED_OPSET, False))
    for file, opset, fuse in files:
        error = export(model, example, HERE / file, opset, fuse)
        if error:
            failures.append((file, error))
            print(f"{file}: torch {torch.__version__} refuses opset {opset}: {error}")
            continue
        info = describe(HERE / file)
        checked = cross_check(HERE / file, info, x, y)
        rows.append((file, info, (HERE / file).stat().st_size))
        print(f"{file}: {(HERE / file).stat().st_size} bytes, {dict(info['ops'])}; {checked}")
    converted = convert(name)
    if converted:
        file, changes = converted
        info = describe(HERE / file)
        checked = cross_check(HERE / file, info, x, y)
        rows.append((file, info, (HERE / file).stat().st_size))
        print(f"{file}: {(HERE / file).stat().st_size} bytes, {dict(info['ops'])}; {checked}; changed: {changes}")
    else:
        failures.append((f"{name}_opset{CONVERTED_OPSET}.onnx", "the onnx package is not importable"))
    with torch.no_grad():  # exporting leaves the model and its outputs as they were
        assert torch.equal(model(x), y)
    parameters = sum(p.numel() for p in model.parameters())
    return {"name": name, "parameters": parameters, "cosine": cosine, "shifted": shifted, "rows": rows,
            "failures": failures}


def table(nets):
    lines = ["| file | opset | operators (count) | initializers | input -> output | bytes |",
             "|---|---|---|---|---|---|"]
    for net in nets:
        for file, info, size in net["rows"]:
            ops = ", ".join(f"{op} {n}" for op, n in sorted(info["ops"].items()))
            io = "; ".join(info["inputs"]) + " -> " + "; ".join(info["outputs"])
            lines.append(f"| `{file}` | {', '.join(info['opsets'])} (IR {info['ir_version']}) | {ops} | "
                         f"{info['initializers']} | {io} | {size} |")
    return "\n".join(lines)


README = """# ONNX fixtures of the ONNX importer

Made by `make_onnx_fixtures.py` with PyTorch {torch} (Debian's `python3-torch`); regenerate (everything here is
seeded, so the same bytes come back) with

    cd core/src/test/resources/org/siamese4j/onnx && python3 make_onnx_fixtures.py

## The nets (random weights)
Each is an `nn.Sequential`; its residual blocks are the script's `Residual` (`body(x) + shortcut(x)`, or
`body(x) + x` without a shortcut), so the state-dict names are those of siamese4j's `Sequential` and `Residual`.
Batch-norm scale and shift are drawn from U(0.5, 1.5) and U(-0.3, 0.3), PReLU slopes from U(0.05, 0.45), and the
running statistics are the average of {passes} training-mode passes on batches of {batch} uniform inputs in [-1, 1].
Convolutions have no bias (the batch norm after them has one).

- `mobilefacenet_like` ({mfn_params} parameters), input 3x112x112 RGB: conv 3x3 stride 2 + BN + PReLU (16x56x56);
  depthwise 3x3 + BN + PReLU; six bottlenecks (1x1 expand x2 + BN + PReLU, depthwise 3x3 + BN + PReLU, 1x1
  project + BN) to 24, 24, 32, 32, 40, 40 channels, the first of each pair with stride 2 and the second a
  `Residual` with identity shortcut (40x7x7); 1x1 conv to 64 + BN + PReLU; the GDC head (depthwise 7x7 without
  padding + BN, 64x1x1); flatten; `Linear(64, 128, bias=False)`; `BatchNorm1d(128)`; `F.normalize`.
- `resnet_small` ({resnet_params} parameters), input 1x112x92 grey (AT&T faces): conv 3x3 stride 2 pad 1 + BN + ReLU
  (8x56x46); max pool 3 stride 2 pad 1 (8x28x23); four BasicBlocks (conv 3x3 + BN + ReLU + conv 3x3 + BN, plus
  the shortcut, then ReLU after the add): 8 (identity), 16 stride 2 (1x1-stride-2 conv + BN projection;
  16x14x12), 16 (identity), 24 stride 2 (projection; 24x7x6); `AdaptiveAvgPool2d(1)`; flatten;
  `Linear(24, 128)`; `F.normalize`.

## The files
- `NET_opsetK.onnx`: `torch.onnx.export` at opset K, `do_constant_folding=True`, evaluation mode, input `input`
  and output `embedding`, the batch dimension dynamic (`batch`). In evaluation mode torch folds every batch norm
  that follows a convolution into that convolution's weight and bias, so only `BatchNorm1d` after the `Linear`
  stays a BatchNormalization node: this is what most shipped models look like.
- `NET_opset{unfused}_unfused_bn.onnx`: the same at opset {unfused} with `training=TrainingMode.PRESERVE` on the
  evaluation-mode model, which skips that folding: every batch norm is a BatchNormalization node.
- `NET_io.safetensors`: `input` (a seeded batch of 2, uniform in [-1, 1]) and torch's `output` [2, 128] of it in
  evaluation mode (unit rows), in F32. Every `.onnx` file of the net must give this output.
  Cosine of the two rows: {mfn_cosine:.3f} (mobilefacenet_like), {resnet_cosine:.3f} (resnet_small: no batch norm
  after the pooled features, whose mean dominates). The input rolled one pixel to the right moves an output
  element by up to {mfn_shifted:.3f} and {resnet_shifted:.3f}: far beyond a 1e-4 parity tolerance.
- `NET_state.safetensors`: torch's `state_dict()` (with the I64 scalar `num_batches_tracked` of each batch norm)
  as `safetensors.torch.save_file` writes it, with metadata `model`, `input` and `made_by`.

{failures}

## Operators of each file
Read from the written bytes by the script's protobuf walker (and checked against the `onnx` package when it is
installed). What an importer meets in them:
- PRelu slopes are initializers of shape [C, 1, 1] (torch unsqueezes the [C] parameter to broadcast over H, W).
- `Linear` without bias (mobilefacenet_like) is a MatMul with the folded, transposed weight [in, out]; with bias
  (resnet_small) a Gemm with `transB=1`.
- `F.normalize(x, dim=1)` is written as `n = ReduceL2(x, axes=[1], keepdims=1)`, `c = Clip(n, min=1e-12)` (an
  attribute at opset 9, a Constant input from opset 11 on, max input empty), `e = Expand(c, Shape(x))`,
  `Div(x, e)`: the Expand to x's own shape changes nothing that Div's broadcasting would not do.
- torch cannot infer the second dimension of that Div, so the declared output shape is `[batch,
  Divembedding_dim_1]` (two symbolic dimensions): the 128 must come from the weights, not from the declaration.
- ReduceL2 keeps `axes` as an attribute at every opset here (it becomes an input only at opset 18).
- The BatchNormalization nodes have `epsilon` 1e-5 and `momentum` 0.9 (ignored at inference).
- `NET_opset{converted}.onnx` is `NET_opset{converted_from}.onnx` converted by onnx's `version_converter` (torch 1.13
  writes nothing newer than 17), made when the `onnx` package is importable (onnx 1.23.1 here). What changes form:
  ReduceL2 takes `axes` as a second input, a new Constant node (INT64 [1]), instead of an attribute (opset 18);
  every other node is as at opset {converted_from} (the IR version stays that of the source file).

{table}
"""


def main():
    nets = [make_net(name) for name in NETS]
    failures = [f"- `{file}`: {error}" for net in nets for file, error in net["failures"]]
    failure_text = (f"Opsets torch {torch.__version__} refused (no file written):\n" + "\n".join(failures)
                    if failures else f"torch {torch.__version__} exported every opset of {OPSETS}.")
    by_name = {net["name"]: net for net in nets}
    text = README.format(torch=torch.__version__, passes=WARMUP_PASSES, batch=WARMUP_BATCH,
                         mfn_params=by_name["mobilefacenet_like"]["parameters"],
                         resnet_params=by_name["resnet_small"]["parameters"], unfused=UNFUSED_OPSET,
                         mfn_cosine=by_name["mobilefacenet_like"]["cosine"],
                         resnet_cosine=by_name["resnet_small"]["cosine"],
                         mfn_shifted=by_name["mobilefacenet_like"]["shifted"],
                         resnet_shifted=by_name["resnet_small"]["shifted"],
                         failures=failure_text, table=table(nets), converted=CONVERTED_OPSET,
                         converted_from=CONVERTED_FROM)
    (HERE / "README.md").write_text(text)
    total = sum(p.stat().st_size for p in HERE.iterdir() if p.is_file())
    print(f"README.md written; the folder holds {total} bytes")


if __name__ == "__main__":
    main()
