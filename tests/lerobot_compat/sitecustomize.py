"""Test-only stand-in for torchvision, so lerobot 0.6.1 can load datasets in a venv without it.

No torchvision build exists for this machine. lerobot's dataset loading path uses only
`torchvision.transforms.ToTensor` (image features); it is implemented here as torchvision defines
it (HWC uint8 -> CHW float in [0, 1]). Any other `torchvision.*` name imports as a placeholder
class that lerobot's loading path never calls. Put this folder on PYTHONPATH of that venv only.
"""

import importlib.abc
import importlib.machinery
import sys
import types


class _Placeholder:
    def __init__(self, *args, **kwargs):
        pass


class ToTensor:
    def __call__(self, picture):
        import numpy as np
        import torch

        array = np.array(picture, copy=True)
        if array.ndim == 2:
            array = array[:, :, None]
        return torch.from_numpy(array).permute(2, 0, 1).contiguous().float().div(255)


class _StubModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = ToTensor if name == "ToTensor" else type(name, (_Placeholder,), {})
        setattr(self, name, value)
        return value


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname == "torchvision" or fullname.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _StubModule(spec.name)
        module.__path__ = []
        module.__version__ = "0.0.0"
        return module

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, _Finder())
