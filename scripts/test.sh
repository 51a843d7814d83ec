#!/usr/bin/env bash
# The whole test suite, from a fresh clone: makes the venv, installs the project and
# everything its tests need, then runs lint, types and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${SWAPDECK_VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check -e '.[test]'
"$VENV/bin/ruff" check src tests benchmarks
"$VENV/bin/mypy"
"$VENV/bin/pytest" "$@"
