#!/usr/bin/env bash
# Create or refresh .venv with hark and its test tools.
# On machines that carry a local CPU torch wheel (/opt/wheels), torch is pinned to it
# through a constraints file, so neither hark nor any dependency can pull CUDA builds.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
stamp="$VENV/.hark-installed"
want=$(cat pyproject.toml scripts/setup-venv.sh | sha1sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
constraints=()
wheel=$(ls /opt/wheels/torch-2.13.0+cpu-*.whl 2>/dev/null | head -n1 || true)
if [ -n "$wheel" ]; then
  echo "torch==2.13.0" > "$VENV/constraints.txt"
  constraints=(-c "$VENV/constraints.txt")
  "$VENV/bin/python" -m pip install -q "$wheel"
fi
"$VENV/bin/python" -m pip install -q "${constraints[@]}" -e ".[test]"
echo "$want" > "$stamp"
