"""Custom prices from a file in LiteLLM's own price-map JSON format, validated before any test runs.

The file maps model names to entries such as
`{"openai/inhouse-model": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
"litellm_provider": "openai", "mode": "chat"}}`. Every field whose name contains
"cost" must be a finite, non-negative number. Nothing here imports LiteLLM.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

# LiteLLM's own price map starts with a documentation entry under this key.
_SPEC_KEY = "sample_spec"


class InvalidPriceFileError(ValueError):
    """A price file that is missing, not JSON, or has an invalid entry; the message names the file, model and field."""


def load_prices(path: Path, source: str) -> dict[str, dict[str, Any]]:
    """Read and validate a price file, returning its model entries."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidPriceFileError(
            f"price file {str(path)!r} from {source} not found: give the path of a JSON file "
            "in LiteLLM's price-map format"
        ) from None
    except OSError as error:
        raise InvalidPriceFileError(
            f"price file {str(path)!r} from {source} cannot be read: {error.strerror}"
        ) from None

    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidPriceFileError(
            f"price file {str(path)!r} is not valid JSON: {error.msg} at line {error.lineno} "
            f"column {error.colno}"
        ) from None

    if not isinstance(document, dict):
        raise InvalidPriceFileError(
            f"price file {str(path)!r}: expected a JSON object that maps model names to "
            f"prices, got {type(document).__name__}"
        )

    prices: dict[str, dict[str, Any]] = {}
    for model, entry in document.items():
        if model == _SPEC_KEY:
            continue
        prices[model] = _check_entry(path, model, entry)
    return prices


def _check_entry(path: Path, model: str, entry: object) -> dict[str, Any]:
    where = f"price file {str(path)!r}, model {model!r}"
    if not isinstance(entry, dict):
        raise InvalidPriceFileError(
            f"{where}: expected an object of prices such as "
            '{"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}'
        )

    cost_fields = [name for name in entry if "cost" in name]
    if not cost_fields:
        raise InvalidPriceFileError(
            f"{where}: no price field; add input_cost_per_token and output_cost_per_token"
        )
    for name in cost_fields:
        value = entry[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidPriceFileError(
                f"{where}, field {name!r}: expected a number of US dollars, got {value!r}"
            )
        if not math.isfinite(value) or value < 0:
            raise InvalidPriceFileError(
                f"{where}, field {name!r}: expected a finite, non-negative price, got {value!r}"
            )
    return dict(entry)
