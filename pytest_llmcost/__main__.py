"""`python -m pytest_llmcost`: see `pytest_llmcost.cli`."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
