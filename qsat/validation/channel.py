"""Validation cases of the optical channel (HV-5/7, Kasten-Young, ITU-R P.1622, Micius, Yin et al.)."""

from __future__ import annotations
