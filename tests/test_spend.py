"""Unit tests of the pure spend totals."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal

from pytest_llmcost.spend import CallRecord, Spend


def _spend() -> Spend:
    spend = Spend()
    spend.add(CallRecord("t.py::a", "call", "openai/gpt-4o-mini", "completion", False,
                         "success", Decimal("0.00045"), 1000, 500))
    spend.add(CallRecord("t.py::a", "setup", "openai/my-model", "completion", False,
                         "success", None, 10, 20))
    return spend


def test_copy_equals_original() -> None:
    spend = _spend()
    assert spend.copy() == spend


def test_copy_keeps_every_field() -> None:
    spend = _spend()
    # A distinct value in every count, so that a field copied into another shows.
    for number, spend_field in enumerate(fields(Spend), start=100):
        if spend_field.type == "int":
            setattr(spend, spend_field.name, number)
    copied = spend.copy()
    for spend_field in fields(Spend):
        assert getattr(copied, spend_field.name) == getattr(spend, spend_field.name)


def test_copy_shares_no_mutable_value() -> None:
    spend = _spend()
    copied = spend.copy()
    for spend_field in fields(Spend):
        value = getattr(spend, spend_field.name)
        if isinstance(value, (int, Decimal)):
            continue
        assert getattr(copied, spend_field.name) is not value, spend_field.name
    for name, model in spend.models.items():
        assert copied.models[name] is not model, name


def test_copy_is_independent() -> None:
    spend = _spend()
    copied = spend.copy()
    copied.add(CallRecord("t.py::a", "call", "openai/gpt-4o-mini", "completion", False,
                          "success", Decimal("0.00045"), 1000, 500))
    assert spend.calls == 2
    assert spend.models["openai/gpt-4o-mini"].calls == 1
    assert spend.models["openai/gpt-4o-mini"].cost == Decimal("0.00045")
    assert spend.phases == {"call": Decimal("0.00045"), "setup": Decimal(0)}
