"""Command-line options, ini keys and the `llm_budget` marker, resolved and validated.

Precedence for every setting: marker (budgets only), then command line, then
ini file, then the default. Each error names the value and where it came from.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import pytest

from .budgets import Budget
from .money import InvalidAmountError, parse_usd

if TYPE_CHECKING:
    # Imported where they are used: most runs read neither a baseline nor a price file.
    from .baseline import Baseline

UnpricedPolicy = Literal["warn", "fail"]
BudgetMode = Literal["stop", "report"]
PriceMap = Literal["bundled", "remote"]
MissingBaselinePolicy = Literal["error", "ok"]

MARKER_NAME = "llm_budget"
MARKER_HELP = (
    "llm_budget(usd): fail the test when its LiteLLM calls cost more than `usd` US dollars; "
    "overrides --llm-test-budget and the llm_test_budget ini key."
)

BUDGET_HELP = (
    "Budget of the whole run in US dollars, such as 0.05. A run that spends more fails "
    "and starts no further tests."
)
TEST_BUDGET_HELP = (
    "Default budget of each test in US dollars. An llm_budget marker overrides it."
)
UNPRICED_HELP = (
    "What to do with a LiteLLM call whose model has no price: 'warn' (default) counts it "
    "and warns, 'fail' also fails the test that made it."
)
COST_TOP_HELP = "Number of costliest tests listed in the terminal summary (default 10, 0 hides the list)."
COST_JSON_HELP = "Write the cost report as JSON to this path."
PRICE_MAP_HELP = (
    "Prices to use: 'bundled' (default) is the price map shipped with the installed "
    "LiteLLM, so results do not change with the day; 'remote' lets LiteLLM fetch its latest map."
)
BUDGET_MODE_HELP = (
    "'stop' (default) rejects a LiteLLM call before it is sent once its test or the run has "
    "spent its budget; 'report' only fails tests and the run after the fact."
)
JUNIT_HELP = (
    "'on' (default) adds llm_cost_usd, llm_calls, llm_prompt_tokens and llm_completion_tokens "
    "properties to each test case of --junitxml, and run totals to the suite; 'off' adds none."
)
PRICES_HELP = (
    "JSON file of model prices in LiteLLM's price-map format, registered before the run; "
    "a model priced there counts as priced."
)
SETTLE_TIMEOUT_HELP = (
    "Seconds to wait, at the end of each test, for LiteLLM to report the cost of the "
    "calls the test made (default 5). Calls still unreported are counted as unaccounted."
)

COST_MD_HELP = (
    "Write the cost report as Markdown to this path. 'none' writes no Markdown report "
    "and turns off the report that is otherwise appended to $GITHUB_STEP_SUMMARY."
)
BASELINE_HELP = (
    "Compare the run's cost with an earlier report written by --llm-cost-json at this path."
)
BASELINE_MAX_INCREASE_HELP = (
    "With --llm-baseline: fail a test, or the run, whose cost grew by more than this many "
    "percent over the baseline, such as 10."
)
BASELINE_MIN_USD_HELP = (
    "With --llm-baseline-max-increase: cost increases of at most this many US dollars fail "
    "nothing (default 0.0001)."
)
BASELINE_MISSING_HELP = (
    "What to do when the --llm-baseline file does not exist: 'error' (default) is a usage "
    "error, 'ok' runs without a comparison, as on the first run of a branch."
)

PROXY_LOG_HELP = (
    "Cost log of a LiteLLM proxy that the tests call, written by the proxy callback "
    "pytest_llmcost.proxy.cost_logger: its calls are charged to the tests that made them."
)

# --llm-cost-md=none: no Markdown file and no GitHub job summary.
MARKDOWN_OFF = "none"

COST_MAP_VARIABLE = "LITELLM_LOCAL_MODEL_COST_MAP"

DEFAULT_COST_TOP = 10
DEFAULT_SETTLE_TIMEOUT = 5.0

T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    """The plugin's resolved configuration for one pytest run."""

    run_budget: Budget | None
    test_budget: Budget | None
    unpriced: UnpricedPolicy
    cost_top: int
    cost_json: Path | None
    price_map: PriceMap
    settle_timeout: float
    budget_mode: BudgetMode = "stop"
    prices: dict[str, dict[str, Any]] | None = None
    junit: bool = True
    cost_md: Path | None = None
    # False with --llm-cost-md=none: nothing is appended to $GITHUB_STEP_SUMMARY.
    step_summary: bool = True
    baseline: Baseline | None = None
    # The cost log of a LiteLLM proxy that the tests call (--llm-proxy-log).
    proxy_log: Path | None = None


class InvalidSettingError(ValueError):
    """A setting value that cannot be used; the message names it and explains how to fix it."""


def _budget_value(source: str) -> Callable[[str], Decimal]:
    def parse(text: str) -> Decimal:
        try:
            return parse_usd(text, source)
        except InvalidAmountError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def parse_unpriced(text: str, source: str) -> UnpricedPolicy:
    value = text.strip().lower()
    if value == "warn":
        return "warn"
    if value == "fail":
        return "fail"
    raise InvalidSettingError(
        f"invalid value {text!r} from {source}: expected 'warn' or 'fail'"
    )


def parse_budget_mode(text: str, source: str) -> BudgetMode:
    value = text.strip().lower()
    if value == "stop":
        return "stop"
    if value == "report":
        return "report"
    raise InvalidSettingError(
        f"invalid value {text!r} from {source}: expected 'stop' (reject calls over budget "
        "before they are sent) or 'report'"
    )


def parse_switch(text: str, source: str) -> bool:
    value = text.strip().lower()
    if value in ("on", "true", "yes", "1"):
        return True
    if value in ("off", "false", "no", "0"):
        return False
    raise InvalidSettingError(f"invalid value {text!r} from {source}: expected 'on' or 'off'")


def parse_price_map(text: str, source: str) -> PriceMap:
    value = text.strip().lower()
    if value == "bundled":
        return "bundled"
    if value == "remote":
        return "remote"
    raise InvalidSettingError(
        f"invalid value {text!r} from {source}: expected 'bundled' (the price map shipped "
        "with LiteLLM) or 'remote'"
    )


def parse_cost_top(text: str, source: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise InvalidSettingError(
            f"invalid value {text!r} from {source}: expected a whole number of tests, "
            "such as 10, or 0 to hide the list"
        ) from None
    if value < 0:
        raise InvalidSettingError(
            f"invalid value {text!r} from {source}: the number of tests cannot be negative; "
            "use 0 to hide the list"
        )
    return value


def parse_settle_timeout(text: str, source: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise InvalidSettingError(
            f"invalid value {text!r} from {source}: expected a positive number of seconds, "
            "such as 10"
        )
    return value


def check_writable(path: Path, source: str) -> None:
    """Create the parent directory of a report path and check that a file can be written there.

    Run at start, so a mistake does not surface after a long run.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise IsADirectoryError(21, "is a directory")
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".llmcost-check-"):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        raise InvalidSettingError(
            f"cannot write the report {str(path)!r} from {source}: {reason}; "
            "choose a writable path"
        ) from None


def check_proxy_log(path: Path, source: str) -> Path:
    """Return the proxy's cost log as an absolute path; its directory is created if missing.

    The file itself may not exist yet: the proxy creates it with its first call.
    """
    path = path.resolve()
    try:
        if path.parent.exists() and not path.parent.is_dir():
            raise NotADirectoryError(20, f"{str(path.parent)!r} is not a directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise IsADirectoryError(21, "is a directory")
        if path.exists():
            with open(path, "rb"):
                pass
    except OSError as error:
        reason = error.strerror or str(error)
        raise InvalidSettingError(
            f"cannot read the proxy cost log {str(path)!r} from {source}: {reason}; "
            "pass the file that LLMCOST_PROXY_LOG names for the proxy"
        ) from None
    return path


def parse_path(text: str, source: str) -> Path:
    if not text.strip():
        raise InvalidSettingError(
            f"invalid value {text!r} from {source}: expected a file path"
        )
    return Path(text)


def parse_markdown_path(text: str, source: str) -> Path | Literal["none"]:
    if not text.strip():
        raise InvalidSettingError(
            f"invalid value {text!r} from {source}: expected a file path, or 'none' to write "
            "no Markdown report"
        )
    if text.strip().lower() == MARKDOWN_OFF:
        return "none"
    return Path(text)


def parse_percent(text: str, source: str) -> Decimal:
    from .baseline import percent_from_text

    try:
        return percent_from_text(text)
    except ValueError as error:
        raise InvalidSettingError(f"invalid value {text!r} from {source}: {error}") from None


def parse_min_usd(text: str, source: str) -> Decimal:
    from .baseline import usd_from_text

    try:
        return usd_from_text(text)
    except ValueError as error:
        raise InvalidSettingError(f"invalid value {text!r} from {source}: {error}") from None


def parse_missing_baseline(text: str, source: str) -> MissingBaselinePolicy:
    value = text.strip().lower()
    if value == "error":
        return "error"
    if value == "ok":
        return "ok"
    raise InvalidSettingError(
        f"invalid value {text!r} from {source}: expected 'error' or 'ok'"
    )


def _argparse_type(
    parse: Callable[[str, str], T], source: str
) -> Callable[[str], T]:
    def convert(text: str) -> T:
        try:
            return parse(text, source)
        except InvalidSettingError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return convert


def add_options(parser: pytest.Parser) -> None:
    """Register the command-line options and their ini keys, which share one help text."""
    options: list[tuple[str, str, Callable[[str], object], str]] = [
        ("--llm-budget", "USD", _budget_value("option --llm-budget"), BUDGET_HELP),
        ("--llm-test-budget", "USD", _budget_value("option --llm-test-budget"), TEST_BUDGET_HELP),
        ("--llm-unpriced", "warn|fail",
         _argparse_type(parse_unpriced, "option --llm-unpriced"), UNPRICED_HELP),
        ("--llm-cost-top", "N", _argparse_type(parse_cost_top, "option --llm-cost-top"),
         COST_TOP_HELP),
        ("--llm-cost-json", "PATH", _argparse_type(parse_path, "option --llm-cost-json"),
         COST_JSON_HELP),
        ("--llm-price-map", "bundled|remote",
         _argparse_type(parse_price_map, "option --llm-price-map"), PRICE_MAP_HELP),
        ("--llm-budget-mode", "stop|report",
         _argparse_type(parse_budget_mode, "option --llm-budget-mode"), BUDGET_MODE_HELP),
        ("--llm-junit", "on|off", _argparse_type(parse_switch, "option --llm-junit"), JUNIT_HELP),
        ("--llm-prices", "PATH", _argparse_type(parse_path, "option --llm-prices"), PRICES_HELP),
        ("--llm-settle-timeout", "SECONDS",
         _argparse_type(parse_settle_timeout, "option --llm-settle-timeout"),
         SETTLE_TIMEOUT_HELP),
        ("--llm-cost-md", "PATH", _argparse_type(parse_markdown_path, "option --llm-cost-md"),
         COST_MD_HELP),
        ("--llm-baseline", "PATH", _argparse_type(parse_path, "option --llm-baseline"),
         BASELINE_HELP),
        ("--llm-baseline-max-increase", "PCT",
         _argparse_type(parse_percent, "option --llm-baseline-max-increase"),
         BASELINE_MAX_INCREASE_HELP),
        ("--llm-baseline-min-usd", "USD",
         _argparse_type(parse_min_usd, "option --llm-baseline-min-usd"), BASELINE_MIN_USD_HELP),
        ("--llm-baseline-missing", "error|ok",
         _argparse_type(parse_missing_baseline, "option --llm-baseline-missing"),
         BASELINE_MISSING_HELP),
        ("--llm-proxy-log", "PATH", _argparse_type(parse_path, "option --llm-proxy-log"),
         PROXY_LOG_HELP),
    ]
    group = parser.getgroup("llmcost", "LLM cost and budgets (pytest-llmcost)")
    for option, metavar, convert, help_text in options:
        # The destination doubles as the ini key: --llm-cost-top and llm_cost_top.
        dest = option.lstrip("-").replace("-", "_")
        # default=None, so that an unset option falls back to the ini key.
        group.addoption(option, dest=dest, metavar=metavar, type=convert, default=None,
                        help=help_text)
        parser.addini(dest, help_text, default=None)


def _ini(config: pytest.Config, name: str) -> str | None:
    value: Any = config.getini(name)
    if value is None:
        return None
    return str(value)


def _resolve(
    config: pytest.Config,
    name: str,
    parse: Callable[[str, str], T],
) -> tuple[T, Literal["cli", "ini"]] | None:
    cli_value = config.getoption(name)
    if cli_value is not None:
        return cli_value, "cli"
    ini_value = _ini(config, name)
    if ini_value is None:
        return None
    value = parse(ini_value, f"ini option {name}")
    if isinstance(value, Path) and not value.is_absolute() and config.inipath is not None:
        # Paths in an ini file are relative to that file, as pytest's own ini paths are.
        value = cast(T, config.inipath.parent / value)
    return value, "ini"


def _source_name(name: str, source: Literal["cli", "ini"]) -> str:
    return f"option --{name.replace('_', '-')}" if source == "cli" else f"ini option {name}"


def _parse_ini_budget(text: str, source: str) -> Decimal:
    try:
        return parse_usd(text, source)
    except InvalidAmountError as error:
        raise InvalidSettingError(str(error)) from None


def _budget(config: pytest.Config, name: str) -> Budget | None:
    resolved = _resolve(config, name, _parse_ini_budget)
    if resolved is None:
        return None
    amount, source = resolved
    return Budget(amount, source)


def resolve_price_map(config: pytest.Config, early: bool = False) -> PriceMap:
    """Return the price map the user chose, or 'bundled' unless the environment selects the remote map.

    With `early`, read the command line from the arguments pytest has parsed
    before loading conftest files, when `config.getoption` is not ready yet.
    """
    if early:
        cli_value = getattr(config.known_args_namespace, "llm_price_map", None)
        if cli_value is not None:
            return cast(PriceMap, cli_value)
    resolved = _resolve(config, "llm_price_map", parse_price_map)
    if resolved is not None:
        return resolved[0]
    # LiteLLM uses its bundled map only when this variable is "true" in any case, so a
    # user who set it to anything else chose the remote map.
    user_value = os.environ.get(COST_MAP_VARIABLE)
    if user_value is not None and user_value.strip().lower() != "true":
        return "remote"
    return "bundled"


def load_settings(config: pytest.Config) -> Settings:
    """Resolve every setting from the command line and ini file.

    Raises `pytest.UsageError` naming the first invalid value, so pytest exits
    with a usage error before any test runs.
    """
    try:
        cost_top = _resolve(config, "llm_cost_top", parse_cost_top)
        cost_json = _resolve(config, "llm_cost_json", parse_path)
        if cost_json is not None and not hasattr(config, "workerinput"):
            check_writable(cost_json[0], _source_name("llm_cost_json", cost_json[1]))
        unpriced = _resolve(config, "llm_unpriced", parse_unpriced)
        settle_timeout = _resolve(config, "llm_settle_timeout", parse_settle_timeout)
        budget_mode = _resolve(config, "llm_budget_mode", parse_budget_mode)
        junit = _resolve(config, "llm_junit", parse_switch)
        prices_path = _resolve(config, "llm_prices", parse_path)
        prices = None
        if prices_path is not None:
            from .prices import InvalidPriceFileError, load_prices

            path, source = prices_path
            try:
                prices = load_prices(path, "option --llm-prices" if source == "cli"
                                     else "ini option llm_prices")
            except InvalidPriceFileError as error:
                raise InvalidSettingError(str(error)) from None
        cost_md = _resolve(config, "llm_cost_md", parse_markdown_path)
        markdown_path = cost_md[0] if cost_md else None
        proxy_log = _resolve(config, "llm_proxy_log", parse_path)
        if proxy_log is not None:
            proxy_log = (check_proxy_log(proxy_log[0], _source_name("llm_proxy_log",
                                                                      proxy_log[1])),
                         proxy_log[1])
        return Settings(
            run_budget=_budget(config, "llm_budget"),
            test_budget=_budget(config, "llm_test_budget"),
            unpriced=unpriced[0] if unpriced else "warn",
            cost_top=cost_top[0] if cost_top else DEFAULT_COST_TOP,
            cost_json=cost_json[0] if cost_json else None,
            price_map=resolve_price_map(config),
            settle_timeout=settle_timeout[0] if settle_timeout else DEFAULT_SETTLE_TIMEOUT,
            budget_mode=budget_mode[0] if budget_mode else "stop",
            prices=prices,
            junit=junit[0] if junit else True,
            cost_md=markdown_path if isinstance(markdown_path, Path) else None,
            step_summary=markdown_path != MARKDOWN_OFF,
            baseline=_baseline(config),
            proxy_log=proxy_log[0] if proxy_log else None,
        )
    except InvalidSettingError as error:
        raise pytest.UsageError(str(error)) from None


def _source(name: str, origin: Literal["cli", "ini"]) -> str:
    if origin == "cli":
        return "option --" + name.replace("_", "-")
    return f"ini option {name}"


def _baseline(config: pytest.Config) -> Baseline | None:
    """Resolve the baseline options and read the baseline report.

    Raises `InvalidSettingError` for a file that is not a report, and for a
    missing file unless --llm-baseline-missing=ok.
    """
    # Resolved first, so that invalid ini values are reported even without a baseline.
    missing = _resolve(config, "llm_baseline_missing", parse_missing_baseline)
    max_increase = _resolve(config, "llm_baseline_max_increase", parse_percent)
    min_usd = _resolve(config, "llm_baseline_min_usd", parse_min_usd)
    resolved = _resolve(config, "llm_baseline", parse_path)
    if resolved is None:
        return None
    from .baseline import (
        DEFAULT_MIN_USD,
        Baseline,
        IncreaseLimit,
        InvalidReportError,
        MissingReportError,
        read_report,
    )

    path, origin = resolved
    source = _source("llm_baseline", origin)

    limit = None
    if max_increase is not None:
        limit = IncreaseLimit(max_increase[0], min_usd[0] if min_usd else DEFAULT_MIN_USD)
    try:
        costs = read_report(path)
    except MissingReportError:
        if missing is not None and missing[0] == "ok":
            return Baseline(path, None, limit)
        raise InvalidSettingError(
            f"baseline report {str(path)!r} from {source} not found: pass the path of a report "
            "written by --llm-cost-json, or --llm-baseline-missing=ok to run without a baseline"
        ) from None
    except InvalidReportError as error:
        raise InvalidSettingError(
            f"invalid baseline report {str(path)!r} from {source}: {error}"
        ) from None
    return Baseline(path, costs, limit)


class InvalidMarkerError(ValueError):
    """An `llm_budget` marker with arguments that are not one budget in US dollars."""


def marker_budget(item: pytest.Item) -> Budget | None:
    """Return the budget of the `llm_budget` marker closest to the test, if any.

    Raises `InvalidMarkerError` for a marker without exactly one valid amount.
    """
    marker = item.get_closest_marker(MARKER_NAME)
    if marker is None:
        return None

    usage = "use @pytest.mark.llm_budget(0.01) with one amount in US dollars"
    if marker.kwargs:
        names = ", ".join(sorted(marker.kwargs))
        raise InvalidMarkerError(
            f"invalid llm_budget marker on {item.nodeid}: unknown keyword argument {names}; "
            f"{usage}"
        )
    if len(marker.args) != 1:
        raise InvalidMarkerError(
            f"invalid llm_budget marker on {item.nodeid}: expected one amount, "
            f"got {len(marker.args)} arguments; {usage}"
        )
    try:
        amount = parse_usd(marker.args[0], f"llm_budget marker on {item.nodeid}")
    except InvalidAmountError as error:
        raise InvalidMarkerError(str(error)) from None
    return Budget(amount, "marker")
