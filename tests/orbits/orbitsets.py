"""Synthetic satellites and stations for the orbit tests: orbits chosen to span LEO and MEO."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from qsat.orbits.stations import Station

START = datetime(2026, 6, 8, tzinfo=timezone.utc)
_MU_KM3_S2, _RE_KM = 398600.8, 6378.135  # WGS-72, the constants SGP4 runs with


def satrec(alt_km: float, inc_deg: float, ecc: float = 0.0, raan_deg: float = 0.0, anomaly_deg: float = 0.0,
           argp_deg: float = 0.0, bstar: float = 0.0, number: int = 90000):
    """A Satrec initialised from mean elements at START (semi-major axis from ``alt_km``)."""
    from sgp4.api import WGS72, Satrec

    n_rad_min = np.sqrt(_MU_KM3_S2 / (_RE_KM + alt_km) ** 3) * 60.0
    epoch = (START - datetime(1949, 12, 31, tzinfo=timezone.utc)).total_seconds() / 86400.0
    s = Satrec()
    s.sgp4init(WGS72, "i", number, epoch, bstar, 0.0, 0.0, ecc, np.radians(argp_deg), np.radians(inc_deg),
               np.radians(anomaly_deg), n_rad_min, np.radians(raan_deg))
    return s


def walker(n_sat: int, planes: int, alt_km: float = 550.0, inc_deg: float = 53.0):
    """A Walker-delta constellation n_sat/planes/1."""
    per = n_sat // planes
    return [satrec(alt_km, inc_deg, 0.0001, 360.0 / planes * p, 360.0 / per * k + 360.0 / n_sat * p,
                   number=90000 + p * per + k)
            for p in range(planes) for k in range(per)]


#: Orbits the screening argument covers (LEO to low MEO; prograde, polar, retrograde; eccentric).
VARIED_ORBITS = [
    (350.0, 51.6, 0.0005), (550.0, 97.6, 0.001), (550.0, 0.1, 0.0), (800.0, 140.0, 0.0),
    (1200.0, 87.9, 0.0), (600.0, 65.0, 0.05), (4000.0, 30.0, 0.02), (8000.0, 60.0, 0.0),
]

#: Stations from the equator to high latitudes, at sea level and on a mountain.
STATIONS = [Station("EQ", 0.5, 10.0, 0.0), Station("MID", 37.0, -120.0, 2000.0),
            Station("HIGH", 68.0, 25.0, 300.0), Station("SOUTH", -45.0, 170.0, 0.0)]
