"""One price table for the product: USD per million tokens (prompt, completion).

Unknown models cost None (the product says "unknown cost" rather than guess);
the embedded model is free.
"""

from __future__ import annotations

PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60), "gpt-4o": (2.5, 10.0), "gpt-4.1-mini": (0.4, 1.6),
    "gpt-4.1": (2.0, 8.0), "gpt-3.5-turbo": (0.5, 1.5)}


def price_per_million(model: str | None) -> tuple[float, float] | None:
    """(prompt, completion) USD per million tokens for `model`, or None when unknown."""
    return PRICES.get(model or "")
