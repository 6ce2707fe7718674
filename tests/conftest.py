"""Shared fixtures. GPU tests carry the ``gpu`` marker and skip without a usable device."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    from qsat.backend import gpu_available

    if gpu_available():
        return
    skip = pytest.mark.skip(reason="no usable CUDA GPU (CuPy missing or no device)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
