#!/bin/bash
# ferry-vm: hosts=2
# soak (e): rollbacks, the path of a 6.12 guest's double fault in CI
# (migrate-tcp, just after a failed restore's rollback). pingpong.sh, but
# every migration first goes to a receiver on the other host whose `criu
# restore` fails (an invalid CRIU option): the source has frozen the
# service, dumped it with its connections in repair mode and removed the
# service address; it must put the address back, take the connections out
# of repair mode and resume the service. Then the real migration.
#
# Must hold after every rollback: ferry migrate exits 1 and says the
# service runs here again, the address is back, CRIU's lock table gone,
# the service not stopped, every connection alive and its service end
# receiving again, no kernel complaint; then everything pingpong.sh checks.
soak_rollback=1 soak_label="e: c"
. "$FERRY_SRC/tests/vm/soak/pingpong.sh"
