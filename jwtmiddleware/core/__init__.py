"""The core: settings, keys, the verifier, claims, identity, issuing, errors and effects.

No I/O, no clock (callers pass ``now``), no web framework, no store client. Every other layer
builds on it; it imports none of them.
"""

__all__: list[str] = []
