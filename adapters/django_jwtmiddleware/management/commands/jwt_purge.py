"""``manage.py jwt_purge``: delete expired entries from the store (SQLite, memory)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from jwtmiddleware.errors import JWTMiddlewareError

from ._base import add_store_option, command_error, manager_for

__all__ = ["Command"]


class Command(BaseCommand):  # type: ignore[misc]  # Django has no type information
    help = "Delete expired revocations, sessions and markers from the store."

    def add_arguments(self, parser: Any) -> None:
        add_store_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        manager, owned = manager_for(options)
        try:
            purged = manager.purge()
        except JWTMiddlewareError as exc:
            raise command_error(exc) from exc
        finally:
            if owned:
                manager.close()
        entries = "expired entry" if purged == 1 else "expired entries"
        self.stdout.write(f"purged {purged} {entries}")
