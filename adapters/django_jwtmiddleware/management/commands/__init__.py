"""``jwt_revoke``, ``jwt_sessions`` and ``jwt_purge``."""
