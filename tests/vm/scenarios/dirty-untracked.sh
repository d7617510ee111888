#!/bin/bash
# dirty-untracked: memory whose writes soft-dirty cannot track is never
# reported clean, and pages are never re-armed behind a secondary TLB's back
# (tests/progs/dirty_untracked.c states each case):
#  - hugetlb: after clear_refs has cleared the mapping's VM_SOFTDIRTY (which
#    hides its later writes from pagemap for good) every DIRTY_SCAN, plain
#    or CLEAR, still reports the whole mapping, flagged "untracked";
#  - VM_PFNMAP (a /dev/mem mapping): the same;
#  - a PTE marker (a zapped uffd-wp shmem page) is reported not-present,
#    not swapped;
#  - an mm with MMU notifiers (a KVM VM): CLEAR is refused with EOPNOTSUPP
#    and a reason, and `ferry dirty --clear` (auto backend) falls back to
#    clear_refs-based tracking and says so.
# What must be unchanged: no write of such memory is ever reported clean.
set -euo pipefail
. tests/vm/lib/assert.sh
lsmod | grep -q '^ferry ' || insmod "$FERRY_KO"
P=$FERRY_PROGS/dirty_untracked
echo 8 >/proc/sys/vm/nr_hugepages
[ "$(cat /proc/sys/vm/nr_hugepages)" -ge 2 ] || fail "could not reserve huge pages"
"$P" hugetlb
# A case this guest cannot provide says so loudly (exit 3); the others run.
cannot=()
rc=0; "$P" pfnmap || rc=$?
case $rc in 0) ;; 3) cannot+=(pfnmap) ;; *) fail "pfnmap case failed" ;; esac
rc=0; "$P" marker || rc=$?
case $rc in 0) ;; 3) cannot+=(marker) ;; *) fail "PTE marker case failed" ;; esac
modprobe -q kvm_amd 2>/dev/null || modprobe -q kvm_intel 2>/dev/null || true
rc=0; "$P" notifier || rc=$?
case $rc in 0) ;; 3) cannot+=(notifier) ;; *) fail "MMU notifier case failed" ;; esac
if [ ${#cannot[@]} -gt 0 ]; then
	echo "WARNING: NOT TESTED in this guest: ${cannot[*]} (see CANNOT RUN above)"
fi
