"""The package's version (one place: the package, the JWKS fetcher's User-Agent, the meter)."""

__all__ = ["__version__"]

__version__ = "0.1.0.dev0"
