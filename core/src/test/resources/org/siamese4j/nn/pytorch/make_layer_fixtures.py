#!/usr/bin/env python3
"""The PyTorch fixture of PyTorchLayersParityTest: grouped and depthwise convolution, PReLU, global average pooling.

    python3 make_layer_fixtures.py          # rewrites layers.safetensors and layers-io.safetensors here

Needs only torch (made with Debian's python3-torch 1.13); the safetensors files are written by save_file of
../../io/pytorch/make_fixtures.py, byte for byte what safetensors.torch.save_file writes.
"""
import sys
from pathlib import Path

import torch
import torch.nn as nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "io" / "pytorch"))
from make_fixtures import load_file, save_file  # noqa: E402

INPUT = (4, 9, 9)


def build():
    """Layer i = child i of nn.Sequential; PyTorchLayersParityTest builds the same list with siamese4j's modules."""
    return nn.Sequential(
        nn.Conv2d(4, 6, 3, padding=1, groups=2),                          # 0: 2 groups of 2 -> 3 channels, 9x9
        nn.PReLU(6),                                                       # 1: a slope per channel
        nn.Conv2d(6, 6, 3, stride=2, padding=1, groups=6, bias=False),     # 2: depthwise 3x3 stride 2, 5x5
        nn.BatchNorm2d(6),                                                 # 3
        nn.PReLU(),                                                        # 4: one shared slope
        nn.Conv2d(6, 12, 3, padding=1, groups=6, padding_mode="reflect"),  # 5: depthwise, multiplier 2, reflect
        nn.Conv2d(12, 8, (1, 3), padding=(0, 1), groups=4),                # 6: grouped, rectangular kernel
        nn.PReLU(8),                                                       # 7
        nn.Conv2d(8, 8, 3, groups=8, bias=False),                          # 8: depthwise without padding, 3x3
        nn.AdaptiveAvgPool2d(1),                                           # 9: global average pooling, 1x1
        nn.Flatten(),                                                      # 10
        nn.Linear(8, 5))                                                   # 11


def make():
    torch.manual_seed(18)
    model = build()
    # Slopes, batch-norm scale and shift away from their starting values, so loading them wrongly shows.
    for i in (1, 4, 7):
        nn.init.uniform_(model[i].weight, -0.5, 0.5)
    nn.init.uniform_(model[3].weight, 0.5, 1.5)
    nn.init.uniform_(model[3].bias, -0.5, 0.5)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(4, *INPUT) * 1.5 + 0.25)
    model.eval()
    state = model.state_dict()
    order = ",".join(state.keys())  # the file sorts its tensors; the test checks our order against PyTorch's
    save_file(state, HERE / "layers.safetensors", metadata={"state_dict_order": order,
                                                           "input": "x".join(map(str, INPUT))})
    x = torch.randn(2, *INPUT)
    with torch.no_grad():
        after4 = model[:5](x)           # after the depthwise stride-2 conv, batch norm and PReLU: [2, 6, 5, 5]
        after8 = model[5:9](after4)     # before the global pooling: [2, 8, 3, 3]
        y = model[9:](after8)
        assert torch.equal(y, model(x))
    save_file({"input": x, "after4": after4, "after8": after8, "output": y}, HERE / "layers-io.safetensors")

    back, metadata = load_file(HERE / "layers.safetensors")  # the writer and reader agree
    assert back.keys() == state.keys() and all(torch.equal(back[k], state[k]) for k in state)
    assert metadata["state_dict_order"] == order
    print(model)
    print("wrote layers.safetensors and layers-io.safetensors; output:")
    print(y)


if __name__ == "__main__":
    if len(sys.argv) != 1:
        sys.exit(__doc__)
    make()
