#!/bin/bash
# xfail-kernel-warning: a script that exits 0 but leaves a kernel warning in
# the log must be reported as FAIL (the harness scans dmesg after each
# script). The trace is injected through /dev/kmsg in the shape a WARN_ON
# prints it, at the same level (KERN_WARNING): scripts/check.sh also checks
# that it reached the serial console and that the host's console watcher
# printed it from "cut here" to "end trace".
for line in \
	"------------[ cut here ]------------" \
	"WARNING: CPU: 0 PID: $$ at ferry-selftest (injected by xfail-kernel-warning)" \
	"Call Trace:" \
	" xfail_kernel_warning+0x0/0x0 (injected)" \
	"---[ end trace 0000000000000000 ]---"; do
	echo "<4>$line" >/dev/kmsg
done
exit 0
