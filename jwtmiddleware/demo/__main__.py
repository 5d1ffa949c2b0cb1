"""``python -m jwtmiddleware.demo``: run the demo without going through the main CLI."""

from __future__ import annotations

import argparse

from .command import add_arguments, run

parser = argparse.ArgumentParser(
    prog="python -m jwtmiddleware.demo",
    description="Run the jwtmiddleware demo on http://127.0.0.1:8000.",
)
add_arguments(parser)
raise SystemExit(run(parser.parse_args()))
