#!/bin/bash
# tcp-tree: TCP_DUMP's tree mode finds every socket of a process tree,
# whatever its threads did (tests/progs/tcp_tree.c states each case):
#  - a child forked by a worker thread (its real parent is that thread);
#  - a thread id given instead of the process id;
#  - a thread with its own fd table (clone() without CLONE_FILES);
#  - a process whose main thread exited while another thread holds the
#    connection (tree and netns dumps by its pid, and DIRTY_SCAN of it).
# What must be unchanged: each of those sockets is in the dump, and every
# request succeeds.
set -euo pipefail
. tests/vm/lib/assert.sh
lsmod | grep -q '^ferry ' || insmod "$FERRY_KO"
ip link set lo up
"$FERRY_PROGS"/tcp_tree
