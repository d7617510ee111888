#!/bin/bash
# ferry-vm: hosts=2
# ferry-move-tcp-many: ferry-move-tcp with 1000 connections: all kept,
# byte-exact, no reset. Whichever of the two runs second in a job (make
# check-containers runs both) prints the ratios of 1000 to 20 connections:
# downtime, Podman's checkpoint, CRIU's frozen time, Podman's restore
# (ferry locks the network per interface, not per connection; CRIU and
# Podman work per socket). Printed, not asserted: a timing.
export FERRY_CTR_CONNS=1000
exec bash "$FERRY_SRC/tests/vm/ctr/ferry-move-tcp.sh"
