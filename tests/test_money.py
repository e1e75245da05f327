"""Unit tests of the pure money helpers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pytest_llmcost.money import InvalidAmountError, format_usd, from_float, parse_usd


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.05", "0.05"), ("5", "5"), (".5", "0.5"), ("1e-3", "0.001"), (" 0.01 ", "0.01"),
     ("0", "0")],
)
def test_parse_valid(text: str, expected: str) -> None:
    assert parse_usd(text, "test") == Decimal(expected)


@pytest.mark.parametrize("value", [0.1, 3, Decimal("0.25")])
def test_parse_numbers(value: object) -> None:
    assert parse_usd(value, "marker") == Decimal(str(value))


@pytest.mark.parametrize("text", ["abc", "-1", "nan", "inf", "1e999", "$0.05", "0.05USD", "", "1,5"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(InvalidAmountError, match=r"^invalid budget .* from test: "):
        parse_usd(text, "test")


def test_float_noise_removed() -> None:
    assert from_float(0.013500000000000002) == Decimal("0.0135")
    assert from_float(0.013499999999999998) == Decimal("0.0135")
    assert from_float(8.999999999999999e-05) == Decimal("0.00009")
    assert from_float(2e-08) == Decimal("2E-8")


def test_sum_independent_of_order() -> None:
    costs = [0.1, 0.2, 0.3, 0.013500000000000002, 8.999999999999999e-05] * 7
    forward = sum((from_float(cost) for cost in costs), Decimal(0))
    backward = sum((from_float(cost) for cost in reversed(costs)), Decimal(0))
    assert forward == backward == Decimal("4.29513")


@pytest.mark.parametrize(
    ("amount", "text"),
    [("0", "$0.0000"), ("0.05", "$0.0500"), ("0.0123", "$0.0123"), ("0.00045", "$0.00045"),
     ("12.5", "$12.5000"), ("1234.5", "$1,234.5000"), ("0.000001", "$0.000001")],
)
def test_format_usd(amount: str, text: str) -> None:
    assert format_usd(Decimal(amount)) == text
