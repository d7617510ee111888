#!/bin/bash
# ferry-vm: hosts=2
# soak (d) for (c): pingpong.sh with transparent huge pages "always" on
# both hosts and churn in the migrated service (tcp_stream CHURN_MIB,
# tests/progs/churn.h): a THP-eligible heap written all along, mappings
# cycling through mmap, MADV_DONTNEED, mremap and munmap of a hole,
# short-lived forked children (their PIDs from a reserved range, so that
# they are free on either host), all self-checking, while it moves back and
# forth.
#
# Must hold: everything pingpong.sh checks after each migration, and the
# churn finds no page wrong on either host (tcp_stream's status fails on
# any churn error) and keeps going after every migration.
soak_thp=1 soak_label="d: c"
. "$FERRY_SRC/tests/vm/soak/pingpong.sh"
