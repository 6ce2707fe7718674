"""Time and offline ephemerides: Skyfield's timescale and DE421 from skyfield-data.

Nothing is downloaded: the timescale uses Skyfield's built-in Earth-orientation
data and the planetary ephemeris is ``de421.bsp`` shipped by the skyfield-data
package. A scenario's time grid is ``start + k * step`` (k = 0..n-1); times are
float64 two-part Julian dates, never single floats.
"""

from __future__ import annotations

import atexit
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property

import numpy as np

DAY_S = 86400.0


@cache
def timescale():
    """Skyfield timescale from built-in data (no network)."""
    from skyfield.api import load

    return load.timescale(builtin=True)


#: Serialises the first load of DE421: ``warnings.catch_warnings`` below swaps the process's
#: warning filters, which is not thread-safe (threads of an in-process Dask worker load it at once).
_PLANETS_LOCK = threading.Lock()


def planets():
    """DE421 planetary ephemeris from the skyfield-data package (no network)."""
    with _PLANETS_LOCK:
        return _planets()


@cache
def _planets():
    import warnings

    from skyfield.api import Loader

    with warnings.catch_warnings():
        # skyfield-data warns when its Earth-orientation file (finals2000A.all) is past the
        # date it ships with; qsat reads only de421.bsp from it and uses Skyfield's built-in
        # table instead (see timescale()).
        warnings.simplefilter("ignore", RuntimeWarning)
        from skyfield_data import get_skyfield_data_path

        path = get_skyfield_data_path()
    kernel = Loader(path, expire=False, verbose=False)("de421.bsp")
    atexit.register(kernel.close)
    return kernel


def data_versions() -> dict:
    """Versions of the time and ephemeris data, for provenance."""
    from importlib.metadata import version

    return {"skyfield": version("skyfield"), "skyfield-data": version("skyfield-data"),
            "sgp4": version("sgp4"), "planetary_ephemeris": "de421.bsp"}


@dataclass(frozen=True)
class TimeGrid:
    """The scenario's time grid: ``n`` instants ``start + k * step_s``.

    ``jd_utc_whole`` + ``fraction`` are the UTC two-part Julian date of the start as
    python-sgp4 and Skyfield's SGP4 take it (UTC, per AIAA 2006-6753). A leap second
    inside the window is not inserted into the grid (none has occurred since 2017).
    """

    start: datetime
    step_s: float
    n: int
    jd_utc_whole: float
    jd_utc_fraction: float

    @classmethod
    def from_window(cls, start: datetime, duration_s: float, step_s: float) -> "TimeGrid":
        t0 = timescale().from_datetime(start)
        fraction = float(t0.tai_fraction - t0._leap_seconds() / DAY_S)
        n = int(np.floor(duration_s / step_s + 1e-9)) + 1
        return cls(start, float(step_s), n, float(t0.whole), fraction)

    @property
    def duration_s(self) -> float:
        return (self.n - 1) * self.step_s

    def seconds(self, k):
        return np.asarray(k, dtype=np.float64) * self.step_s

    def utc_parts(self, t_s):
        """(jd_whole, fraction) UTC Julian date parts at ``t_s`` seconds after start."""
        t_s = np.asarray(t_s, dtype=np.float64)
        return np.full(t_s.shape, self.jd_utc_whole), self.jd_utc_fraction + t_s / DAY_S

    def skyfield_time(self, t_s):
        """Skyfield Time at ``t_s`` seconds after start."""
        return _utc_jd(*self.utc_parts(t_s))

    @cached_property
    def _dut1_nodes(self):
        nodes = np.arange(0.0, self.duration_s + 2 * 3600.0, 3600.0)
        return nodes, np.atleast_1d(self.skyfield_time(nodes).dut1)

    def dut1_s(self, t_s):
        """UT1 - UTC [s] at ``t_s``, interpolated from Skyfield's built-in table every hour
        (it changes by about 2 ms a day, so hourly nodes are exact to nanoseconds)."""
        nodes, dut1 = self._dut1_nodes
        return np.interp(np.asarray(t_s, dtype=np.float64), nodes, dut1)

    def gmst(self, t_s):
        """GMST-1982 angle [rad] and its mean rate [rad/s] at ``t_s``
        (Vallado et al., AIAA 2006-6753, eq. C-5, via Skyfield's ``theta_GMST1982``)."""
        from skyfield.sgp4lib import theta_GMST1982

        whole, fraction = self.utc_parts(t_s)
        theta, _ = theta_GMST1982(whole, fraction + self.dut1_s(t_s) / DAY_S)
        return np.asarray(theta, dtype=np.float64), self.gmst_rate_rad_s

    @cached_property
    def gmst_rate_rad_s(self) -> float:
        """Rate of GMST-1982 [rad/s] over the window (it drifts by 1e-15 relative a day)."""
        from skyfield.sgp4lib import theta_GMST1982

        _, theta_dot = theta_GMST1982(self.jd_utc_whole, self.jd_utc_fraction)
        return float(theta_dot) / DAY_S

    def datetime64(self, t_s):
        """UTC times as numpy datetime64[ns]."""
        base = np.datetime64(self.start.replace(tzinfo=None), "ns")
        return base + np.round(np.asarray(t_s, dtype=np.float64) * 1e9).astype("timedelta64[ns]")


def _utc_jd(whole, fraction):
    """A Skyfield Time from UTC two-part Julian dates."""
    ts = timescale()
    # Skyfield's Time takes TT parts; shift UTC to TAI by the leap seconds, then to TT.
    t_guess = ts.tai_jd(whole, fraction)
    leap = t_guess._leap_seconds()
    return ts.tai_jd(whole, fraction + leap / DAY_S)


def iso_utc(t) -> list[str]:
    """ISO 8601 UTC strings ending in 'Z' (millisecond precision) for datetime64 values."""
    values = np.datetime_as_string(np.asarray(t, dtype="datetime64[ms]"), unit="ms")
    return [v + "Z" for v in np.atleast_1d(values)]
