"""pytest-xdist support: the controller's side of sharing one run budget with its workers.

Registered only when pytest-xdist is installed and active, because its hooks
exist only then. Per-test spend travels from the workers on the test reports
(see `CostTracker.pytest_runtest_makereport`), and the calls a worker made
outside tests travel in its `workeroutput`.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from .spend import Spend

RUN_TOTAL_KEY = "llmcost_run_total"
OUTSIDE_KEY = "llmcost_outside"


class XdistController:
    """Creates the shared run total and collects what workers spent outside tests."""

    def __init__(self) -> None:
        from .shared_ledger import SharedRunTotal

        self._directory = Path(tempfile.mkdtemp(prefix="pytest-llmcost-"))
        self.shared_total = SharedRunTotal.create(self._directory / "run-total.sqlite3")
        self.outside = Spend()

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[RUN_TOTAL_KEY] = str(self.shared_total.path)

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        # A crashed worker sends no output: what it spent in tests still arrived
        # on its test reports.
        output = getattr(node, "workeroutput", None) or {}
        data = output.get(OUTSIDE_KEY)
        if data is not None:
            self.outside.merge(Spend.from_dict(data))

    def pytest_handlecrashitem(self, crashitem: str, report: Any, sched: Any) -> None:
        """Charge a test whose worker crashed with the calls its worker booked before."""
        spend = self.shared_total.test_spend(crashitem)
        if spend.calls:
            # Read by CostTracker.pytest_runtest_logreport, which runs right after this hook.
            report.llmcost = {"spend": spend.to_dict()}

    def close(self) -> None:
        shutil.rmtree(self._directory, ignore_errors=True)


def uses_xdist_workers(config: Any) -> bool:
    """True on a pytest-xdist controller that runs tests on workers (`-n` above 0)."""
    if not config.pluginmanager.hasplugin("xdist") or hasattr(config, "workerinput"):
        return False
    return bool(getattr(config.option, "numprocesses", None)) or bool(
        getattr(config.option, "tx", None)
    )
