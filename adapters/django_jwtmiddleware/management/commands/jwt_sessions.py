"""``manage.py jwt_sessions SUBJECT [--json]``: list a subject's live device sessions."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand

from jwtmiddleware.errors import JWTMiddlewareError

from ._base import add_store_option, command_error, manager_for

__all__ = ["Command"]


class Command(BaseCommand):  # type: ignore[misc]  # Django has no type information
    help = "List the live device sessions of a subject, oldest first."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("subject")
        parser.add_argument("--json", action="store_true", help="print JSON")
        add_store_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        manager, owned = manager_for(options)
        subject = options["subject"]
        try:
            sessions = manager.sessions(subject)
        except JWTMiddlewareError as exc:
            raise command_error(exc) from exc
        finally:
            if owned:
                manager.close()
        if options.get("json"):
            self.stdout.write(json.dumps([asdict(s) for s in sessions], indent=2))
            return
        if not sessions:
            self.stdout.write(f"no live sessions for {subject}")
        for s in sessions:
            seen = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.last_seen))
            self.stdout.write(
                f"{s.session_id}  last seen {seen}  {s.ip or '-'}  {s.user_agent or '-'}"
            )
