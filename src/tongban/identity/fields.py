"""Collecting field errors so that one answer names every wrong field."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tongban.platform.errors import FieldError, Invalid


@dataclass
class FieldErrors:
    """Collects every wrong field so that one answer names them all."""

    items: list[FieldError] = field(default_factory=list)

    def check(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a validator; keep its field errors and return None when it fails."""
        try:
            return fn(*args, **kwargs)
        except Invalid as exc:
            self.items.extend(exc.errors or [FieldError("request", exc.detail)])
            return None

    def add(self, field_name: str, message: str) -> None:
        """Note one wrong field."""
        self.items.append(FieldError(field_name, message))

    def raise_if_any(self) -> None:
        """Raise Invalid naming every noted field, if any."""
        if len(self.items) == 1:
            raise Invalid(self.items[0].message, errors=list(self.items))
        if self.items:
            fields = ", ".join(dict.fromkeys(e.field for e in self.items))
            raise Invalid(f"Please correct: {fields}.", errors=list(self.items))


def field_invalid(field_name: str, message: str) -> Invalid:
    """An Invalid error for one field."""
    return Invalid(message, errors=[FieldError(field_name, message)])
