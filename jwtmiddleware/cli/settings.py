"""Settings commands of the CLI: ``issue`` (mint a token for testing) and ``check-settings``.

``check-settings`` reports every problem at once, not just the first: each key is converted on
its own, then the cross-setting checks are repeated with each offending setting set aside.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core._text import count
from ..core._validate import CONVERTERS
from ..core.errors import ConfigurationError
from ..core.settings import ENV_PREFIX, Settings
from .keys import BadInput

__all__ = ["add_settings_commands", "collect_problems"]

_MAX_ROUNDS = 50


def _load_mapping(env_file: str | None) -> dict[str, Any]:
    """``JWTMIDDLEWARE_*`` from the environment, overlaid by a file (JSON object or .env)."""
    mapping: dict[str, Any] = {
        k[len(ENV_PREFIX) :]: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)
    }
    if env_file is None:
        return mapping
    try:
        text = Path(env_file).read_text("utf-8")
    except OSError as exc:
        raise BadInput(f"cannot read {env_file}: {exc.strerror}") from exc
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise BadInput(f"{env_file} is not valid JSON") from exc
        if not isinstance(data, dict):
            raise BadInput(f"{env_file} must hold a JSON object")
        mapping.update({str(k).upper(): v for k, v in data.items()})
        return mapping
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise BadInput(f"{env_file}:{number}: expected NAME=value")
        name = name.strip().removeprefix("export ").strip()
        mapping[name.removeprefix(ENV_PREFIX)] = value.strip().strip("'\"")
    return mapping


def collect_problems(mapping: Mapping[str, Any]) -> list[ConfigurationError]:
    """Every problem with an UPPER_CASE settings mapping, in the order found."""
    problems: list[ConfigurationError] = []
    usable: dict[str, Any] = {}
    for key, value in mapping.items():
        name = key.lower()
        if name not in CONVERTERS:
            try:
                Settings.from_mapping({key: value})
            except ConfigurationError as exc:
                problems.append(exc)
            continue
        try:
            CONVERTERS[name](key.upper(), value)
        except ConfigurationError as exc:
            problems.append(exc)
        else:
            usable[key.upper()] = value
    for _ in range(_MAX_ROUNDS):
        try:
            Settings.from_mapping(usable)
        except ConfigurationError as exc:
            if exc.setting not in {p.setting for p in problems}:
                problems.append(exc)
            if exc.setting not in usable:  # a missing setting (no key material): stop here
                break
            del usable[exc.setting]
        else:
            break
    return problems


def _cmd_check_settings(args: argparse.Namespace) -> int:
    mapping = _load_mapping(args.env_file)
    problems = collect_problems(mapping)
    if args.json:
        report = [{"setting": p.setting, "message": p.message} for p in problems]
        print(json.dumps({"ok": not problems, "problems": report}, indent=2))
    elif problems:
        print(f"{count(len(problems), 'problem')} in the settings:")
        for problem in problems:
            print(f"  {problem.setting}: {problem.message}")
    else:
        print(f"settings OK ({len(mapping)} set, every other setting at its default)")
    return 1 if problems else 0


def _claim_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _cmd_issue(args: argparse.Namespace) -> int:
    from ..core.issuer import Issuer

    claims: dict[str, Any] = {}
    for item in args.claim or ():
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise BadInput(f"--claim takes NAME=VALUE, got {item!r}")
        claims[name] = _claim_value(value)
    settings = Settings.from_env()
    try:
        issued = Issuer(settings).access_token(args.sub, now=time.time(), claims=claims,
                                               ttl=args.ttl)  # fmt: skip
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    if args.json:
        body = {"token": issued.token, "claims": dict(issued.claims),
                "expires_at": issued.expires_at}  # fmt: skip
        print(json.dumps(body, indent=2))
    else:
        print(issued.token)
    return 0


def add_settings_commands(sub: Any) -> None:
    """Register ``issue`` and ``check-settings`` on the CLI's subparsers."""
    issue = sub.add_parser("issue", help="mint an access token from the settings (for testing)")
    issue.add_argument("--sub", required=True, help="the subject")
    issue.add_argument("--ttl", type=float, help="lifetime in seconds (default ACCESS_TOKEN_TTL)")
    issue.add_argument(
        "--claim",
        action="append",
        metavar="NAME=VALUE",
        help="an extra claim; VALUE is JSON when it parses, else a string",
    )
    issue.add_argument("--json", action="store_true", help="print the token and claims as JSON")
    issue.set_defaults(func=_cmd_issue)

    check = sub.add_parser("check-settings", help="load the settings and report every problem")
    check.add_argument("--env-file", help="a .env file or JSON object overlaying the environment")
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(func=_cmd_check_settings)
