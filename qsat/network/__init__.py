"""Network budgets: fiber QKD links, key stores and trusted relays, max-flow between
users, scheduling, weather outages, entanglement handoff and repeater chains.

The ``budget`` stage (:mod:`qsat.network.stage`) turns the per-pass keys of the
``keys`` stage and the fiber links of the ``[network]`` section into key budgets
per pass, day, month and year, per station, link and user pair.

Modules (one topic each; equations and references in their docstrings and in
``docs/network.md``):

* :mod:`~qsat.network.config` — the ``[network]`` section and :func:`~qsat.network.config.check_references`;
* :mod:`~qsat.network.fiber` — fiber transmittance, decoy-BB84 key rate per link, PLOB bound;
* :mod:`~qsat.network.flow` — maximum flow (Edmonds–Karp) over the key graph;
* :mod:`~qsat.network.stores` — key stores, XOR relay through trusted nodes and satellites, pair status;
* :mod:`~qsat.network.schedule` — max-key, round-robin and demand-weighted pass selection;
* :mod:`~qsat.network.weather` — monthly clear-sky climatology, Gaussian-copula outages (Philox);
* :mod:`~qsat.network.entanglement` — fiber tails, repeater chains, purification, bounds;
* :mod:`~qsat.network.stage` — the ``budget`` stage and :func:`~qsat.network.stage.compute_budget`.
"""

# The scenario package imports this package's config; load it first so that
# importing qsat.network.<module> directly does not start a circular import.
from .. import scenario as _scenario  # noqa: E402,F401
