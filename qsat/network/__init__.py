"""Network budgets: fiber QKD links, key stores and trusted relays, max-flow between
users, scheduling, weather outages, entanglement handoff and repeater chains.

The ``budget`` stage (:mod:`qsat.network.stage`) turns the per-pass keys of the
``keys`` stage and the fiber links of the ``[network]`` section into key budgets
per pass, day, month and year, per station, link and user pair.
"""

# The scenario package imports this package's config; load it first so that
# importing qsat.network.<module> directly does not start a circular import.
from .. import scenario as _scenario  # noqa: E402,F401
