"""A key manager (KME) speaking ETSI GS QKD 014, fed by the key supply a budget predicts.

* :mod:`qsat.kme.supply` — each user pair's key over time from ``budget.nc``;
* :mod:`qsat.kme.store` — key pools in SQLite: minted, delivered once to each SAE, deleted;
* :mod:`qsat.kme.etsi` — the standard's data formats (Status, Key request, Key container,
  Key IDs, Error);
* :mod:`qsat.kme.server` — the HTTPS server (aiohttp, client certificates, simulated clock);
* :mod:`qsat.kme.certs` — test certificates; :mod:`qsat.kme.metrics` — the metrics product.

The server and certificates need the optional extra (``pip install 'qsat[kme]'``);
importing this package does not.
"""
