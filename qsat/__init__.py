"""qsat: satellite and free-space quantum links, from orbits to key budgets.

The public API is gathered in :mod:`qsat.api`; importing :mod:`qsat` is cheap and
never imports CuPy.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
