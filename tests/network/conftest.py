"""Synthetic pass tables for the network tests (no orbit computation)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

START = datetime(2024, 1, 30, tzinfo=timezone.utc)


def make_passes(rows) -> pd.DataFrame:
    """rows: (satellite, station, start_s, duration_s, key_bits) from START."""
    t0 = np.datetime64(START.replace(tzinfo=None), "ns")
    out = []
    for i, (sat, st, s, d, key) in enumerate(rows):
        rise = t0 + np.timedelta64(int(s * 1e9), "ns")
        setp = rise + np.timedelta64(int(d * 1e9), "ns")
        mid = rise + (setp - rise) // 2
        out.append({"pass_id": i, "satellite": sat, "station": st,
                    "rise_utc": str(rise) + "Z", "culmination_utc": str(mid) + "Z", "set_utc": str(setp) + "Z",
                    "dark": True, "secret_key_bits": key, "secret_key_bits_asymptotic": int(key * 1.2)})
    return pd.DataFrame(out)


STATIONS = ["Xinglong", "Nanshan", "Graz"]
LATLON = [(40.4, 117.6), (43.5, 87.2), (47.1, 15.5)]


@pytest.fixture(name="make_passes")
def _make_passes_fixture():
    return make_passes


@pytest.fixture
def stations():
    return STATIONS, LATLON


@pytest.fixture
def start():
    return START


@pytest.fixture
def passes_3days():
    rng = np.random.default_rng(7)
    rows = []
    for day in range(3):
        for k, st in enumerate(STATIONS):
            rows.append(("Micius", st, day * 86400 + 3600 * (2 + 3 * k), 300.0, float(rng.integers(1e5, 1e6))))
    return make_passes(rows)
