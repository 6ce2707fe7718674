"""Unit strings: the astropy-free fast path gives astropy's values, and loading a scenario needs
neither astropy nor xarray."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from astropy import units as u

from qsat.errors import QsatInputError
from qsat.units import FAST_FACTORS, fast_value, to_si

PAIRS = [(target, name) for target, names in FAST_FACTORS.items() for name in names]
NUMBERS = ["0", "1", "3", "30", "12.0", "0.1", ".5", "2.", "-7.25", "+4", "1e3", "2.5E-7", "550", "785",
           "1.23456789012345"]


@pytest.mark.parametrize("target,name", PAIRS)
def test_factor_is_astropys_scale(target, name):
    assert FAST_FACTORS[target][name] == u.Unit(name).to(target)


@pytest.mark.parametrize("target,name", PAIRS)
def test_values_identical_to_astropy(target, name):
    rng = np.random.default_rng(7)
    numbers = NUMBERS + [repr(float(x)) for x in rng.uniform(-1e4, 1e4, 200)]
    for number in numbers:
        for text in (f"{number} {name}", f"{number}{name}", f"  {number}   {name} "):
            expected = float(u.Quantity(text).to_value(target))
            assert fast_value(text, target) == expected, text
            assert to_si(text, target, "f") == expected, text


@pytest.mark.parametrize("text,target", [("3 m", "s"), ("1 km/s", "m/s"), ("nan m", "m"), ("1 µm", "m"),
                                          ("1 kbit/s", "bit/s"), ("30 cm cm", "m"), ("m", "m"), ("1_000 m", "m")])
def test_other_strings_left_to_astropy(text, target):
    assert fast_value(text, target) is None


def test_errors_unchanged_for_fast_units():
    with pytest.raises(QsatInputError, match="convertible to 's'"):
        to_si("3 m", "s", "time.step")
    with pytest.raises(QsatInputError, match="a finite"):
        to_si("1e400 m", "m", "link.transmitter.aperture")


def test_scenario_load_imports_neither_astropy_nor_xarray(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[time]\nstart = "2024-03-01T00:00:00Z"\nduration = "12.0 d"\nstep = "1 s"\n'
                    '[[satellites]]\nname = "ISS"\n[[ground_stations]]\nname = "Tenerife"\n'
                    '[constraints]\nelevation_mask_deg = 10.0\n')
    probe = (f"import sys\nfrom qsat.scenario import load\ns = load({str(path)!r})\n"
             "assert s.time.duration == 12 * 86400.0 and s.time.step == 1.0\n"
             "print(','.join(m for m in ('astropy', 'xarray', 'dask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
