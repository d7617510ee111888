#!/bin/bash
# xfail-exit: the harness itself must report a script that exits non-zero
# as FAIL. scripts/check.sh expects this script to FAIL and counts it as
# passed only then (a harness that cannot fail would be caught here).
echo "deliberately failing"
exit 3
