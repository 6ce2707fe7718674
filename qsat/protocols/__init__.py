"""Key and entanglement yields per pass: decoy BB84 (finite key), BBM92, bounds.

Public surface:

* :func:`~qsat.protocols.decoy_bb84.key_length` — decoy BB84 key from counts (Lim et al. 2014);
* :func:`~qsat.protocols.one_decoy.key_length` — one-decoy BB84 key from counts (Rusca et al. 2018);
* :func:`~qsat.protocols.optimize.optimize_decoy_bb84` — batched per-pass source optimisation;
* :mod:`~qsat.protocols.bbm92` — entanglement-based key and entanglement budget;
* :mod:`~qsat.protocols.bounds` — PLOB and TGW limits;
* :class:`~qsat.protocols.config.ProtocolConfig` — the ``[protocol]`` section / PROTOCOL.toml;
* :func:`~qsat.protocols.losstable.read_loss_table` — SatQuMA-layout loss files.

Physics, equations and conventions: ``docs/keys.md``.
"""

# The scenario package imports this package's config sections; importing it first keeps
# that cycle well ordered whichever module a user imports first.
from .. import scenario as _scenario  # noqa: E402,F401
