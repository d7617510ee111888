#!/bin/bash
# ferry-vm: hosts=2
# ferry-move-tcp-many: ferry-move-tcp with 1000 connections: all kept,
# byte-exact, no reset; and, since ferry locks the container's network per
# interface and not per connection, the downtime within 1.5x that of
# ferry-move-tcp's 20 connections when both run in the same boot (make
# check-containers: whichever runs second compares).
export FERRY_CTR_CONNS=1000
exec bash "$FERRY_SRC/tests/vm/ctr/ferry-move-tcp.sh"
