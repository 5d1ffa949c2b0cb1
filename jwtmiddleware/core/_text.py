"""Small wording helpers for what people read: command output and the demo's pages."""

from __future__ import annotations

__all__ = ["count"]


def count(number: int, singular: str, plural: str | None = None) -> str:
    """``number`` followed by the right form of the noun: ``1 session``, ``0 sessions``.

    :param plural: for nouns that do not just take an ``s`` (``entry``/``entries``).
    """
    word = singular if number == 1 else (plural or singular + "s")
    return f"{number} {word}"
