"""Key pools in SQLite: keys arrive from the supply, go to the master SAE once and to the slave once.

One pool per user pair. A key is minted when the supply has delivered ``key_size``
more bits to the pair (``floor(cumulative bits / key_size)`` keys by then): a UUID
key_ID and ``key_size`` bits of material from the operating system's CSPRNG
(:mod:`secrets`). It is *simulated* key material, standing for what the QKD links
would have produced; it is not secret key. A pool holds at most ``max_key_count``
keys; key arriving at a full pool is counted as overflow and not stored.

A key's life: ``pool_keys`` (minted) → ``issued`` (delivered to its master SAE by
``enc_keys``, kept until the slave fetches it) → ``retired`` (delivered to its slave by
``dec_keys``: the material is deleted, the key_ID kept as a tombstone so that it can
never be issued again). Each step is one transaction (``BEGIN IMMEDIATE``), committed
before the response leaves the server: a restart loses nothing that was committed and
issues nothing twice, and a key_ID sits in one table at a time (primary keys).

A key larger than ``key_size`` is made of several pool keys in arrival order: it
takes the key_ID of the first, the others are retired as merged into it; bits beyond
the requested size are discarded and counted.

The store also keeps the counters per pool (minted, overflow, served to masters and
slaves, refused requests) and samples of them on the simulated clock, the
``kme_metrics`` product (:meth:`KeyStore.metrics_dataset`).
"""

from __future__ import annotations

import json
import math
import secrets
import sqlite3
import uuid
from pathlib import Path

from ..errors import QsatInputError
from .etsi import BAD_REQUEST, SERVER_ERROR, UNAUTHORIZED, KmeError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pools (
    pair TEXT PRIMARY KEY, node_a TEXT NOT NULL, node_b TEXT NOT NULL,
    stored INTEGER NOT NULL DEFAULT 0, minted INTEGER NOT NULL DEFAULT 0, overflow INTEGER NOT NULL DEFAULT 0,
    served INTEGER NOT NULL DEFAULT 0, served_slave INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0, refused_requests INTEGER NOT NULL DEFAULT 0,
    refused_keys INTEGER NOT NULL DEFAULT 0, discarded_bits INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS pool_keys (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, key_id TEXT NOT NULL UNIQUE, pair TEXT NOT NULL,
    material BLOB NOT NULL, arrived_s REAL NOT NULL);
CREATE INDEX IF NOT EXISTS pool_keys_pair ON pool_keys (pair, seq);
CREATE TABLE IF NOT EXISTS issued (
    key_id TEXT PRIMARY KEY, pair TEXT NOT NULL, master TEXT NOT NULL, slave TEXT NOT NULL,
    material BLOB NOT NULL, issued_s REAL NOT NULL);
CREATE TABLE IF NOT EXISTS retired (
    key_id TEXT PRIMARY KEY, pair TEXT NOT NULL, master TEXT NOT NULL, slave TEXT NOT NULL,
    retired_s REAL NOT NULL, merged_into TEXT);
CREATE TABLE IF NOT EXISTS sae_pairs (
    master TEXT NOT NULL, slave TEXT NOT NULL, pair TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0, served INTEGER NOT NULL DEFAULT 0,
    served_slave INTEGER NOT NULL DEFAULT 0, refused_requests INTEGER NOT NULL DEFAULT 0,
    refused_keys INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (master, slave));
CREATE TABLE IF NOT EXISTS sae_samples (
    sim_s REAL NOT NULL, master TEXT NOT NULL, slave TEXT NOT NULL, served INTEGER, served_slave INTEGER,
    refused_requests INTEGER, refused_keys INTEGER, PRIMARY KEY (sim_s, master, slave));
CREATE TABLE IF NOT EXISTS samples (
    sim_s REAL NOT NULL, pair TEXT NOT NULL, stored INTEGER, minted INTEGER, overflow INTEGER,
    served INTEGER, served_slave INTEGER, refused_requests INTEGER, refused_keys INTEGER,
    supply_bits REAL, PRIMARY KEY (sim_s, pair));
"""

SAE_COUNTERS = ("requests", "served", "served_slave", "refused_requests", "refused_keys")
COUNTERS = ("stored", "minted", "overflow", "served", "served_slave", "requests", "refused_requests",
            "refused_keys", "discarded_bits")


class KeyStore:
    """The pools of one key manager in one SQLite file.

    ``identity`` (JSON-able) names the supply the file was made for; opening an
    existing file with another identity is an input error (it would mix two runs).
    """

    def __init__(self, path, *, identity: dict, pairs: dict[str, tuple[str, str]], key_size: int,
                 synchronous: str = "full", info: dict | None = None):
        self.path = Path(path)
        self.key_size = key_size
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
            self.db.execute("PRAGMA busy_timeout=10000")
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            if hasattr(self, "db"):
                self.db.close()
            raise QsatInputError("--db", str(self.path), f"a key store written by qsat kme serve, or a new "
                                                         f"file ({exc})") from None
        ident = json.dumps({**identity, "key_size": key_size}, sort_keys=True)
        with self.transaction():
            row = self.db.execute("SELECT value FROM meta WHERE name='identity'").fetchone()
            if row is None:
                self.db.execute("INSERT INTO meta VALUES ('identity', ?)", (ident,))
                self.db.execute("INSERT INTO meta VALUES ('sim_s', '0')")
                self.db.execute("INSERT INTO meta VALUES ('sampled_s', '-1')")
                self.db.execute("INSERT INTO meta VALUES ('info', ?)", (json.dumps(info or {}, default=str),))
                self.db.executemany("INSERT INTO pools (pair, node_a, node_b) VALUES (?, ?, ?)",
                                    [(label, a, b) for label, (a, b) in pairs.items()])
        if row is not None and row[0] != ident:
            self.close()
            raise QsatInputError("--db", str(self.path),
                                 f"a key store made for these products, trial and key_size ({row[0]}), "
                                 "or a new file")
        self._now = self.sim_s  # simulated time last committed here: the time stamp of key rows

    # --- plumbing ---

    def transaction(self):
        return _Transaction(self.db)

    def close(self) -> None:
        self.db.close()

    def _meta(self, name: str) -> float:
        return float(self.db.execute("SELECT value FROM meta WHERE name=?", (name,)).fetchone()[0])

    @classmethod
    def open_existing(cls, path) -> "KeyStore":
        """An existing store, for reading its metrics (no identity check)."""
        path = Path(path)
        if not path.is_file():
            raise QsatInputError("--db", str(path), "an existing key store written by qsat kme serve")
        store = cls.__new__(cls)
        store.path = path
        store.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            ident = json.loads(store.db.execute("SELECT value FROM meta WHERE name='identity'").fetchone()[0])
        except (sqlite3.DatabaseError, TypeError):
            store.close()
            raise QsatInputError("--db", str(path), "a key store written by qsat kme serve") from None
        store.db.executescript(SCHEMA)
        store.key_size = int(ident["key_size"])
        store._now = store.sim_s
        return store

    @property
    def info(self) -> dict:
        row = self.db.execute("SELECT value FROM meta WHERE name='info'").fetchone()
        return json.loads(row[0]) if row else {}

    @property
    def sim_s(self) -> float:
        """Simulated time (seconds from the window start) the pools have been filled to."""
        return self._meta("sim_s")

    def counters(self, pair: str) -> dict:
        row = self.db.execute(f"SELECT {', '.join(COUNTERS)} FROM pools WHERE pair=?", (pair,)).fetchone()
        return dict(zip(COUNTERS, row))

    def stored(self, pair: str) -> int:
        return int(self.db.execute("SELECT stored FROM pools WHERE pair=?", (pair,)).fetchone()[0])

    # --- supply ---

    def advance(self, sim_s: float, supply, *, max_key_count: int, sample_interval_s: float) -> None:
        """Fill the pools up to simulated time ``sim_s``, sampling the counters on the way."""
        if sim_s <= self.sim_s:
            return
        with self.transaction():  # one commit however many samples the step crosses
            sampled = self._meta("sampled_s")
            k = math.floor(sampled / sample_interval_s) + 1 if sampled >= 0 else 0
            while k * sample_interval_s <= sim_s:
                self._fill(k * sample_interval_s, supply, max_key_count, sample=True)
                k += 1
            self._fill(sim_s, supply, max_key_count, sample=False)

    def sample_now(self, supply, max_key_count: int) -> None:
        """Sample the counters at the current simulated time (when the server stops)."""
        with self.transaction():
            self._fill(self.sim_s, supply, max_key_count, sample=True)

    def _fill(self, at: float, supply, max_key_count: int, *, sample: bool) -> None:
        """Mint the keys due by ``at`` and move the clock there (inside the caller's transaction)."""
        if at > self.sim_s:
            for label, p in supply.pairs.items():
                c = self.counters(label)
                due = math.floor(p.bits_at(at) / self.key_size + 1e-9) - c["minted"] - c["overflow"]
                if due <= 0:
                    continue
                room = max(0, min(due, max_key_count - c["stored"]))
                nbytes = self.key_size // 8
                self.db.executemany(
                    "INSERT INTO pool_keys (key_id, pair, material, arrived_s) VALUES (?, ?, ?, ?)",
                    [(str(uuid.uuid4()), label, secrets.token_bytes(nbytes), at) for _ in range(room)])
                self.db.execute("UPDATE pools SET stored=stored+?, minted=minted+?, overflow=overflow+? "
                                "WHERE pair=?", (room, room, due - room, label))
            self.db.execute("UPDATE meta SET value=? WHERE name='sim_s'", (repr(float(at)),))
            self._now = float(at)
        if sample:
            rows = []
            for label, p in supply.pairs.items():
                c = self.counters(label)
                rows.append((at, label, c["stored"], c["minted"], c["overflow"], c["served"], c["served_slave"],
                             c["refused_requests"], c["refused_keys"], p.bits_at(at)))
            self.db.executemany("INSERT OR REPLACE INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self.db.execute("INSERT OR REPLACE INTO sae_samples SELECT ?, master, slave, served, served_slave, "
                            "refused_requests, refused_keys FROM sae_pairs", (at,))
            self.db.execute("UPDATE meta SET value=? WHERE name='sampled_s'", (repr(float(at)),))

    # --- key delivery ---

    def take(self, pair: str, master: str, slave: str, number: int, size_bits: int) -> list[tuple[str, bytes]]:
        """Deliver ``number`` keys of ``size_bits`` to ``master`` (Get key): they leave the pool
        and wait for ``slave``. Raises :class:`KmeError` 503 when the pool holds too few."""
        units = -(-size_bits // self.key_size)
        need = number * units
        with self.transaction():
            stored = self.stored(pair)
            if stored < need:  # counted (committed), then refused
                self.db.execute("UPDATE pools SET requests=requests+1, refused_requests=refused_requests+1, "
                                "refused_keys=refused_keys+? WHERE pair=?", (number, pair))
                self._count(master, slave, pair, requests=1, refused_requests=1, refused_keys=number)
                rows = None
            else:
                rows = self._issue(pair, master, slave, number, size_bits, units, need)
        if rows is None:
            raise KmeError(SERVER_ERROR, f"not enough key between {master} and {slave}: {stored} keys of "
                                         f"{self.key_size} bits stored, {need} needed")
        return rows

    def _issue(self, pair, master, slave, number, size_bits, units, need):
        """The first ``need`` keys of the pool, grouped ``units`` to a key, moved to ``issued``."""
        rows = self.db.execute("SELECT seq, key_id, material FROM pool_keys WHERE pair=? ORDER BY seq LIMIT ?",
                               (pair, need)).fetchall()
        self.db.execute("DELETE FROM pool_keys WHERE pair=? AND seq<=?", (pair, rows[-1][0]))
        now = self._now
        out, issued, merged = [], [], []
        for k in range(number):
            group = rows[k * units:(k + 1) * units]
            kid = group[0][1]
            material = b"".join(r[2] for r in group)[: size_bits // 8]
            out.append((kid, material))
            issued.append((kid, pair, master, slave, material, now))
            merged.extend((r[1], pair, master, slave, now, kid) for r in group[1:])
        self.db.executemany("INSERT INTO issued VALUES (?, ?, ?, ?, ?, ?)", issued)
        if merged:
            self.db.executemany("INSERT INTO retired VALUES (?, ?, ?, ?, ?, ?)", merged)
        self.db.execute("UPDATE pools SET stored=stored-?, served=served+?, requests=requests+1, "
                        "discarded_bits=discarded_bits+? WHERE pair=?",
                        (need, number, need * self.key_size - number * size_bits, pair))
        self._count(master, slave, pair, requests=1, served=number)
        return out

    def _count(self, master: str, slave: str, pair: str, **add) -> None:
        """Add to the counters of the SAE pair (master, slave), inside the caller's transaction."""
        values = [add.get(c, 0) for c in SAE_COUNTERS]
        self.db.execute(f"INSERT INTO sae_pairs (master, slave, pair, {', '.join(SAE_COUNTERS)}) "
                        f"VALUES (?, ?, ?, {', '.join('?' * len(SAE_COUNTERS))}) ON CONFLICT (master, slave) DO UPDATE "
                        f"SET {', '.join(f'{c}={c}+excluded.{c}' for c in SAE_COUNTERS)}",
                        (master, slave, pair, *values))

    def give_to_slave(self, master: str, slave: str, key_ids: list[str]) -> list[tuple[str, bytes]]:
        """Deliver the keys ``master`` obtained for ``slave`` (Get key with key IDs), then delete them.

        All or nothing: an unknown key_ID (400) or a key of another SAE pair (401) fails
        the whole request and delivers none.
        """
        with self.transaction():
            out, retire, pairs = [], [], {}
            now = self._now
            for kid in key_ids:
                row = self.db.execute("SELECT pair, master, slave, material FROM issued WHERE key_id=?",
                                      (kid,)).fetchone()
                if row is None:
                    gone = self.db.execute("SELECT 1 FROM retired WHERE key_id=?", (kid,)).fetchone()
                    why = "already delivered to its slave SAE and deleted" if gone else \
                        "not a key delivered to a master SAE (unknown key_ID)"
                    raise KmeError(BAD_REQUEST, f"key_ID {kid}: {why}")
                if (row[1], row[2]) != (master, slave):
                    raise KmeError(UNAUTHORIZED, f"key_ID {kid}: not a key of master SAE {master} for slave SAE {slave}")
                out.append((kid, row[3]))
                retire.append((kid, row[0], master, slave, now))
                pairs[row[0]] = pairs.get(row[0], 0) + 1
            self.db.executemany("DELETE FROM issued WHERE key_id=?", [(k,) for k in key_ids])
            self.db.executemany("INSERT INTO retired (key_id, pair, master, slave, retired_s) VALUES (?, ?, ?, ?, ?)",
                                retire)
            for pair, n in pairs.items():
                self.db.execute("UPDATE pools SET served_slave=served_slave+? WHERE pair=?", (n, pair))
                self._count(master, slave, pair, served_slave=n)
        return out

    # --- accounting and metrics ---

    def audit(self) -> dict:
        """Per pool: minted = stored + issued (waiting for the slave) + retired + merged, and the
        rows behind each figure (a test and ``qsat kme metrics`` check that nothing was lost)."""
        out = {}
        for (pair,) in self.db.execute("SELECT pair FROM pools").fetchall():
            c = self.counters(pair)
            count = lambda sql: int(self.db.execute(sql, (pair,)).fetchone()[0])  # noqa: E731
            out[pair] = {**c,
                         "pool_rows": count("SELECT COUNT(*) FROM pool_keys WHERE pair=?"),
                         "issued_rows": count("SELECT COUNT(*) FROM issued WHERE pair=?"),
                         "retired_rows": count("SELECT COUNT(*) FROM retired WHERE pair=? AND merged_into IS NULL"),
                         "merged_rows": count("SELECT COUNT(*) FROM retired WHERE pair=? AND merged_into IS NOT NULL")}
        return out

    def sae_counters(self) -> dict:
        """Counters per SAE pair, ``{"master>slave": {...}}``."""
        rows = self.db.execute(f"SELECT master, slave, pair, {', '.join(SAE_COUNTERS)} FROM sae_pairs "
                               "ORDER BY master, slave").fetchall()
        return {f"{r[0]}>{r[1]}": {"pair": r[2], **dict(zip(SAE_COUNTERS, r[3:]))} for r in rows}

    def sae_samples(self):
        """The sampled counters of every SAE pair as a table."""
        import pandas as pd

        cols = ["sim_s", "master", "slave", "served", "served_slave", "refused_requests", "refused_keys"]
        return pd.DataFrame(self.db.execute(f"SELECT {', '.join(cols)} FROM sae_samples "
                                            "ORDER BY sim_s, master, slave").fetchall(), columns=cols)

    def samples(self):
        """The sampled counters as a table (one row per sample and pool)."""
        import pandas as pd

        cols = ["sim_s", "pair", "stored", "minted", "overflow", "served", "served_slave", "refused_requests",
                "refused_keys", "supply_bits"]
        return pd.DataFrame(self.db.execute(f"SELECT {', '.join(cols)} FROM samples ORDER BY sim_s, pair").fetchall(),
                            columns=cols)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on an exception, which propagates)."""

    def __init__(self, db):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, exc, tb):
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
        return False
