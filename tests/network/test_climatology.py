"""The shipped cloud climatology: loads, holds probabilities, and every number carries its source."""

from __future__ import annotations

import csv
import io

import numpy as np

from qsat.network.weather import MONTHS, climatology_path, load_climatology


def _rows():
    text = climatology_path().read_text(encoding="utf-8")
    body = "\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))
    return list(csv.DictReader(io.StringIO(body)))


def test_shipped_table_loads_with_probabilities():
    table = load_climatology()
    assert {"XINGLONG", "TENERIFE", "NGARI"} <= set(table)
    for station, values in table.items():
        assert values.shape == (12,), station
        assert np.all((values >= 0.0) & (values <= 1.0)), station


def test_every_number_has_a_kind_and_a_source_and_empty_rows_say_why():
    rows = _rows()
    stations = {r["station"] for r in rows}
    assert len(stations) == len(rows)                 # one row per station
    for r in rows:
        values = [r[m].strip() for m in MONTHS]
        if all(values):
            assert r["kind"].strip() and r["source"].strip(), r["station"]
            assert "arXiv" in r["source"] or "doi" in r["source"].lower(), r["station"]
            if len(set(values)) == 1:                 # an annual figure repeated must say so
                assert "annual value repeated" in r["kind"], r["station"]
        else:
            assert not any(values), f"{r['station']}: partly filled row"
            assert "no published" in r["source"], r["station"]


def test_stations_of_the_catalog_are_the_ones_listed():
    text = (climatology_path().parents[1] / "ground_stations.csv").read_text(encoding="utf-8")
    body = "\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))
    catalog = {r["name"] for r in csv.DictReader(io.StringIO(body))}
    assert {r["station"] for r in _rows()} <= catalog
