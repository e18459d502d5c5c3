#!/usr/bin/env bash
# On the GPU machine (../shared/GPU.md: no Node, no network): puts the node binary of .gpu-kit/
# (made here by `node scripts/dev/gpu-kit.js`) on PATH when there is no node, unpacks its
# node_modules and dist/ when they are missing, and runs scripts/test/gpu.js with the arguments.
# JEPA_PYTHON defaults to that machine's CUDA PyTorch, /opt/torch/.venv/bin/python.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v node >/dev/null 2>&1; then
  mkdir -p /tmp/jepa-node/bin
  xz -dc .gpu-kit/node.xz > /tmp/jepa-node/bin/node
  chmod +x /tmp/jepa-node/bin/node
  export PATH="/tmp/jepa-node/bin:$PATH"
fi
[ -d node_modules/mocha ] || tar -xJf .gpu-kit/node_modules.tar.xz
[ -f dist/index.js ] || tar -xJf .gpu-kit/dist.tar.xz
export JEPA_PYTHON="${JEPA_PYTHON:-/opt/torch/.venv/bin/python}"
exec node scripts/test/gpu.js "$@"
