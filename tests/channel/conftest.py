import numpy as np
import pytest

from qsat.channel.budget import LinkParameters
from qsat.channel.config import LinkConfig


def make_config(**overrides):
    base = {"wavelength": "850 nm",
            "transmitter": {"divergence": "10 urad", "aperture": "30 cm", "pointing_jitter": "1 urad"},
            "receiver": {"aperture": "1 m", "field_of_view": "100 urad"}}
    for key, value in overrides.items():
        if isinstance(value, dict):
            base[key] = {**base.get(key, {}), **value}
        else:
            base[key] = value
    return LinkConfig.model_validate(base)


@pytest.fixture
def downlink_params():
    return LinkParameters.from_config(make_config(), station_altitude_m=960.0)


@pytest.fixture
def tip_tilt_params():
    # a narrow field stop behind a tip-tilt loop, with a residual tracking jitter
    cfg = make_config(receiver={"field_of_view": "20 urad", "tip_tilt_correction": True, "pointing_jitter": "0.5 urad"})
    return LinkParameters.from_config(cfg, station_altitude_m=960.0)


@pytest.fixture
def uplink_params():
    cfg = make_config(direction="uplink", transmitter={"divergence": "20 urad", "aperture": "18 cm"},
                      receiver={"aperture": "30 cm", "field_of_view": "100 urad"})
    return LinkParameters.from_config(cfg, station_altitude_m=5047.0)


@pytest.fixture
def rng():
    return np.random.default_rng(20261126)
