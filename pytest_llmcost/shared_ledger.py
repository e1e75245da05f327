"""The run's total spend shared by pytest-xdist workers, so that one run budget applies to all.

The controller creates an SQLite database in WAL mode in a temporary directory
and passes its path to the workers. Each worker adds every settled call's cost
and reads the total before each call. Amounts are stored as whole picodollars
(10**-12 USD) so that SQLite's integer sums are exact; the reports themselves are
built from exact decimals sent with the test reports.
"""

from __future__ import annotations

import sqlite3
import threading
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

from .spend import CallRecord, Spend

PICODOLLARS = Decimal(10) ** 12
_BUSY_TIMEOUT_MS = 30_000


def to_picodollars(amount: Decimal) -> int:
    # Rounded up, so the shared total never reads lower than what was spent.
    return int((amount * PICODOLLARS).to_integral_value(rounding=ROUND_CEILING))


class SharedRunTotal:
    """A process-safe running total of the run's spend, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    @classmethod
    def create(cls, path: Path) -> SharedRunTotal:
        """Create the database with a zero total; called once, by the controller."""
        with sqlite3.connect(path, timeout=_BUSY_TIMEOUT_MS / 1000) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS run_total (id INTEGER PRIMARY KEY CHECK (id = 1), "
                "picodollars INTEGER NOT NULL)"
            )
            connection.execute("INSERT OR IGNORE INTO run_total VALUES (1, 0)")
            # Each call of a test, kept so that a test whose worker crashed before
            # reporting is still charged what it spent.
            connection.execute(
                "CREATE TABLE IF NOT EXISTS calls (nodeid TEXT, phase TEXT, model TEXT, "
                "call_type TEXT, stream INTEGER, status TEXT, cost TEXT, prompt_tokens INTEGER, "
                "completion_tokens INTEGER)"
            )
        connection.close()
        return cls(path)

    def _connection(self) -> sqlite3.Connection:
        # sqlite3 connections must not be shared between threads: one per thread.
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
            connection.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            # The file lives only as long as the run, in a temporary directory: no
            # fsync on every commit (measured by bench/shared_ledger.py).
            connection.execute("PRAGMA synchronous=OFF")
            self._local.connection = connection
        return connection

    def add(self, record: CallRecord) -> None:
        """Add one booked call to the shared total, in one transaction."""
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            if record.cost_usd:
                connection.execute(
                    "UPDATE run_total SET picodollars = picodollars + ? WHERE id = 1",
                    (to_picodollars(record.cost_usd),),
                )
            if record.nodeid is not None:
                connection.execute(
                    "INSERT INTO calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (record.nodeid, record.phase, record.model, record.call_type,
                     int(record.stream), record.status,
                     None if record.cost_usd is None else str(record.cost_usd),
                     record.prompt_tokens, record.completion_tokens),
                )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def test_spend(self, nodeid: str) -> Spend:
        """Return what the calls of one test added, as booked by any worker."""
        spend = Spend()
        rows = self._connection().execute(
            "SELECT phase, model, call_type, stream, status, cost, prompt_tokens, "
            "completion_tokens FROM calls WHERE nodeid = ?",
            (nodeid,),
        )
        for phase, model, call_type, stream, status, cost, prompt, completion in rows:
            spend.add(
                CallRecord(nodeid, phase, model, call_type, bool(stream), status,
                           None if cost is None else Decimal(cost), prompt, completion)
            )
        return spend

    def total(self) -> Decimal:
        row = self._connection().execute(
            "SELECT picodollars FROM run_total WHERE id = 1"
        ).fetchone()
        return Decimal(row[0]) / PICODOLLARS if row else Decimal(0)
