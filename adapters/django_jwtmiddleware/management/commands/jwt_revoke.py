"""``manage.py jwt_revoke``: revoke one token, one device session, or a whole subject."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from jwtmiddleware.errors import JWTMiddlewareError

from ._base import add_store_option, command_error, manager_for

__all__ = ["Command"]


class Command(BaseCommand):  # type: ignore[misc]  # Django has no type information
    help = "Revoke a token (--jti), a device session (--session) or every token of a subject."

    def add_arguments(self, parser: Any) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--jti", help="revoke one token by its jti")
        target.add_argument("--subject", help="log a subject out everywhere")
        target.add_argument("--session", help="revoke one device session by its sid")
        parser.add_argument("--issuer", help='the tokens\' iss (default: the "ISSUER" setting)')
        add_store_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        manager, owned = manager_for(options)
        issuer = options.get("issuer")
        try:
            if options.get("jti"):
                jti = options["jti"]
                manager.revoke_token(jti, issuer=issuer or manager.settings.issuer or "")
                self.stdout.write(f"revoked token {jti}")
            elif options.get("subject"):
                subject = options["subject"]
                ended = manager.logout_everywhere(subject, issuer=issuer)
                sessions = "session" if ended == 1 else "sessions"
                self.stdout.write(f"revoked every token of {subject} ({ended} {sessions} ended)")
            else:
                sid = options["session"]
                found = manager.revoke_session(sid)
                self.stdout.write(
                    f"revoked session {sid}" + ("" if found else " (it was not live)")
                )
        except JWTMiddlewareError as exc:
            raise command_error(exc) from exc
        finally:
            if owned:
                manager.close()
