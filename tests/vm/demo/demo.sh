#!/bin/bash
# The demo job, run inside a guest by `make demo`.
set -euo pipefail
echo "== ferry --version"; "$FERRY_BIN" --version
echo "== ferry check (module loaded, CRIU, soft-dirty)"; "$FERRY_BIN" check
