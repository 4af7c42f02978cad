#!/usr/bin/env bash
# Create the venv holding the official server (`langgraph dev`) that bench/ compares graphdock with.
# Usage: bench/setup-official.sh [VENV_DIR]   (default: bench/.venv-official)
# To reuse a venv you already have instead: export GRAPHDOCK_BENCH_OFFICIAL_VENV=/path/to/venv
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${1:-$here/.venv-official}"
python="${PYTHON:-python3}"

# The versions graphdock's wire contract was measured against; keep them pinned so runs compare.
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "langgraph-cli[inmem]==0.4.40" "langgraph-api==0.16.7" "langgraph==1.2.24"
"$venv/bin/langgraph" --version
echo "official server installed in $venv"
