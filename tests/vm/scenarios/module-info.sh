#!/bin/bash
# module-info: ferry.ko registers the "ferry" genetlink family and answers
# INFO with the same version and ABI as the CLI; `ferry check` sees it.
# Unchanged across 10 unload/load cycles (up to 15 s each under TCG): the
# family comes back, no kernel warnings (the harness fails the script on any
# WARNING/BUG/Oops in dmesg).
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"

cli_version=$("$FERRY_BIN" --version | awk '{print $2}')
json=$("$FERRY_BIN" check --json --no-criu) || true
echo "$json"
assert_eq "$(jq_get "$json" module.loaded)" True "module loaded"
assert_eq "$(jq_get "$json" module.version)" "$cli_version" "module version = CLI version"
assert_eq "$(jq_get "$json" module.abi_match)" True "ABI match"
assert_eq "$(jq_get "$json" version)" "$cli_version" "check --json has version"
modinfo_ver=$(modinfo -F version "$FERRY_KO")
assert_eq "$modinfo_ver" "$cli_version" "MODULE_VERSION = CLI version"

for i in $(seq 1 10); do
	rmmod ferry
	if "$FERRY_BIN" check --json --no-criu | grep -q '"loaded":true'; then
		fail "family still registered after rmmod (cycle $i)"
	fi
	insmod "$FERRY_KO"
	"$FERRY_BIN" check --json --no-criu | grep -q '"loaded":true' ||
		fail "family missing after insmod (cycle $i)"
done
echo "10 unload/load cycles OK"
