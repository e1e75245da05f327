"""Exact US dollar amounts: parsing user input, converting LiteLLM's floats, formatting."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

ZERO = Decimal(0)

# A plain decimal number such as "0.05", "5", ".5" or "1e-3": no sign, no currency.
_AMOUNT_PATTERN = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

# Budgets above this are almost certainly typos (a million dollars of test traffic).
MAX_BUDGET = Decimal(1_000_000)


class InvalidAmountError(ValueError):
    """A budget or price that is not a plain, finite, non-negative number of dollars."""


def parse_usd(text: object, source: str) -> Decimal:
    """Parse a budget in US dollars written as a plain decimal number.

    `source` names where the value came from ("option --llm-budget"), so the
    error can point the user at the place to fix.
    """
    if isinstance(text, bool):
        raise InvalidAmountError(
            f"invalid budget {text!r} from {source}: expected a number of US dollars "
            "such as 0.05, not a boolean"
        )
    if isinstance(text, Decimal):
        return _check_range(text, text, source)
    if isinstance(text, int):
        return _check_range(Decimal(text), text, source)
    if isinstance(text, float):
        if not math.isfinite(text):
            raise InvalidAmountError(
                f"invalid budget {text!r} from {source}: the amount must be finite"
            )
        return _check_range(from_float(text), text, source)
    if not isinstance(text, str):
        raise InvalidAmountError(
            f"invalid budget {text!r} from {source}: expected a number of US dollars "
            "such as 0.05"
        )

    stripped = text.strip()
    if not _AMOUNT_PATTERN.fullmatch(stripped):
        hint = "expected a plain decimal number of US dollars, for example 0.05"
        if any(character.isalpha() or character in "$€£¥" for character in stripped):
            hint = "write the amount without a currency sign or unit, for example 0.05"
        if stripped.startswith("+"):
            hint = "write the amount without a sign, for example 0.05"
        if stripped.startswith("-"):
            hint = "a budget cannot be negative; use 0 to allow no spending"
        if stripped.lower().lstrip("+") in {"nan", "inf", "infinity"}:
            hint = "the amount must be a finite number such as 0.05"
        if not stripped:
            hint = "give an amount such as 0.05, or remove the setting"
        raise InvalidAmountError(f"invalid budget {text!r} from {source}: {hint}")

    try:
        amount = Decimal(stripped)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
        raise InvalidAmountError(f"invalid budget {text!r} from {source}") from None
    return _check_range(amount, text, source)


def _check_range(amount: Decimal, original: object, source: str) -> Decimal:
    if not amount.is_finite():
        raise InvalidAmountError(
            f"invalid budget {original!r} from {source}: the amount must be finite"
        )
    if amount < 0:
        raise InvalidAmountError(
            f"invalid budget {original!r} from {source}: a budget cannot be negative; "
            "use 0 to allow no spending"
        )
    if amount > MAX_BUDGET:
        raise InvalidAmountError(
            f"invalid budget {original!r} from {source}: {_short(amount)} US dollars is more "
            f"than the maximum of {MAX_BUDGET:,f}; write the amount in dollars, for example 0.05"
        )
    return amount


def _short(amount: Decimal) -> str:
    return f"{amount:,f}" if amount < Decimal(10) ** 15 else f"{amount:.3E}"


def from_float(value: float) -> Decimal:
    """Convert a cost that LiteLLM computed as a float into an exact decimal.

    LiteLLM multiplies token counts by float prices, so $0.0135 arrives as
    0.013500000000000002. Rounding to 15 significant digits (the precision a
    float always carries) removes that noise and keeps every real digit.
    """
    if not math.isfinite(value):
        raise ValueError(f"cost {value!r} is not a finite number")
    return Decimal(format(value, ".15g"))


def to_plain_text(amount: Decimal) -> str:
    """Return the amount as a plain decimal string without trailing zeros, such as '0.0009'."""
    text = format(amount.normalize(), "f")
    return text if text != "-0" else "0"


def to_json_number(amount: Decimal) -> float:
    """Return the amount as the float that JSON stores, rounded from the exact value."""
    return float(amount)


MIN_PLACES = 4
MAX_PLACES = 10


def decimal_places(amounts: Iterable[Decimal]) -> int:
    """Return the decimal places that show every amount exactly, between 4 and 10."""
    places = MIN_PLACES
    for amount in amounts:
        exponent = amount.normalize().as_tuple().exponent
        if isinstance(exponent, int):
            places = max(places, -exponent)
    return min(places, MAX_PLACES)


def format_usd(amount: Decimal, places: int | None = None) -> str:
    """Format dollars with at least four decimal places, more when smaller digits matter.

    Sub-cent spend is shown instead of rounded to $0.0000, up to ten places.
    Pass `places` to align a column of amounts (see `decimal_places`).
    """
    if places is None:
        places = decimal_places([amount])
    rounded = amount.quantize(Decimal(1).scaleb(-places))
    return f"${rounded:,f}"
