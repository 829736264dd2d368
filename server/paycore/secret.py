"""A value that must never reach a log or a repr: keys, tokens, card numbers."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Secret:
    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def masked(self) -> str:
        """What may be shown: a recognisable prefix and the last four characters."""
        head = self._value.rsplit("_", 1)[0] + "_" if "_" in self._value else ""
        return f"{head}...{self._value[-4:]}" if len(self._value) > 12 else "***"

    def __repr__(self) -> str:
        return f"Secret({self.masked()!r})"

    __str__ = __repr__
