#!/usr/bin/env bash
# Fetch, on this (networked) machine, the wheels that the lent GPU machine lacks, into .whl/
# (git-ignored), so that benchmarks/gpu_check.py runs there in one call.
#
# The GPU image (Python 3.12, CuPy for CUDA 13, NumPy, SciPy, h5py, pytest, matplotlib, pyarrow,
# Dask's small dependencies...) has none of qsat's orbit, scenario and output stack; nothing can be
# fetched there. Usage, from the repository root:
#
#   bash benchmarks/gpu_wheels.sh            # ~51 MB into .whl/
#
# then, with the device tool, carry [".whl"] and run (one line):
#
#   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
#     --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD && \
#     PYTHONUNBUFFERED=1 python3 benchmarks/gpu_check.py --out $OUT/gpu_check.json --budget-s 300
#
# The list is qsat's runtime and Monte Carlo dependencies (pyproject.toml) with their own
# requirements, less what the image already holds. Tested by installing it with --target into a
# Python 3.12 environment holding only the image's packages and running the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  -d .whl \
  "skyfield>=1.55" "skyfield-data>=7.0" "sgp4>=2.27" jplephem \
  "astropy>=8.0" astropy-iers-data pyerfa \
  "pydantic>=2.13" pydantic-core annotated-types typing-inspection typing-extensions packaging \
  "xarray>=2026.9" "pandas>=3.0" python-dateutil "h5netcdf>=1.8" \
  "dask>=2026.8" distributed partd locket tblib zict tornado \
  "zarr>=3.1.6" numcodecs donfig google-crc32c msgspec
du -sh .whl
