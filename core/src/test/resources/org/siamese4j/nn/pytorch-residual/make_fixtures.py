#!/usr/bin/env python3
"""The PyTorch fixture of PyTorchResidualTest: a tower of residual blocks, identity, projection and nested.

    python3 make_fixtures.py        # rewrites fixture.safetensors and io.safetensors here

Needs only torch (made with Debian's python3-torch 1.13). The safetensors writer (what
safetensors.torch.save_file writes, without the safetensors package) and the batch-norm settling are those of
../../io/pytorch/make_fixtures.py.
fixture.safetensors is save_file(model.state_dict()) with the spec and input shape as metadata, so
ModelFile.load reads it as a model file; io.safetensors holds an input batch and PyTorch's outputs for it in
evaluation mode.
"""
import sys
from pathlib import Path

import torch
import torch.nn as nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "io" / "pytorch"))
from make_fixtures import load_file, save_file, settle  # noqa: E402

ARCH = ("conv(8,3,pad=1) batchnorm relu residual(conv(8,3,pad=1) batchnorm relu conv(8,3,pad=1) batchnorm) relu "
        "residual(conv(16,3,stride=2,pad=1) batchnorm relu conv(16,3,pad=1) batchnorm | conv(16,1,stride=2) batchnorm) "
        "relu residual(residual(conv(16,3,pad=1) tanh) conv(16,1)) avgpool(2) flatten dense(10)")
INPUT = (3, 12, 12)


class Residual(nn.Module):
    """What the spec's residual(BODY[ | SHORTCUT]) builds (docs/model-format.md): body(x) + shortcut(x)."""

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x):
        return self.body(x) + (x if self.shortcut is None else self.shortcut(x))


def build():
    """The spec, layer for layer: layer i is child i, a block's layers are body.j and shortcut.j."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),                          # 8x12x12
        Residual(nn.Sequential(
            nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8))),
        nn.ReLU(),
        Residual(nn.Sequential(                                                               # 16x6x6
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16)),
            nn.Sequential(nn.Conv2d(8, 16, 1, stride=2), nn.BatchNorm2d(16))),
        nn.ReLU(),
        Residual(nn.Sequential(
            Residual(nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.Tanh())),
            nn.Conv2d(16, 16, 1))),
        nn.AvgPool2d(2),                                                                      # 16x3x3
        nn.Flatten(),
        nn.Linear(144, 10))


def make():
    torch.manual_seed(18)
    model = build()
    settle(model, [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)], INPUT)
    state = model.state_dict()
    save_file(state, HERE / "fixture.safetensors", metadata={"arch": ARCH, "input": "x".join(map(str, INPUT))})

    x = torch.randn(3, *INPUT)
    with torch.no_grad():
        y = model(x)
    save_file({"input": x, "output": y}, HERE / "io.safetensors")

    back, _ = load_file(HERE / "fixture.safetensors")
    assert back.keys() == state.keys() and all(torch.equal(back[k], state[k]) for k in state)
    print(f"wrote fixture.safetensors ({len(state)} tensors) and io.safetensors; outputs:")
    print(y)


if __name__ == "__main__":
    if len(sys.argv) != 1:
        sys.exit(__doc__)
    make()
