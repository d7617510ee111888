#!/bin/bash
# ferry-vm: hosts=2
# soak (d) for (a)+(b): hammer.sh with transparent huge pages "always" on
# both hosts and churn in the service (tcp_stream CHURN_MIB, tests/progs/
# churn.h): a THP-eligible heap written all along, mappings cycling through
# mmap, MADV_DONTNEED, mremap and munmap of a hole (splitting huge pages),
# short-lived forked children, all self-checking; the CLEAR scans and the
# TCP dumps run against it while it streams.
#
# Must hold: everything hammer.sh checks, and the churn finds no page
# wrong (tcp_stream's status fails on any churn error) and keeps going.
soak_thp=1 soak_label="d: a+b"
. "$FERRY_SRC/tests/vm/soak/hammer.sh"
