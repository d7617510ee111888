# shellcheck shell=bash
# A client host on the guests' LAN, inside one guest: network namespace NS
# with address IP/24 on a veth whose other end shares a bridge br0 with the
# guest's link interface (which moves its address to br0). The namespace
# is a TCP stack of its own that reaches the other guest over the link and
# resolves addresses with ARP like any host on the segment.
#   lan_client_up NS IP     build it (uses $FERRY_NETDEV, $FERRY_MY_IP)
#   lan_client_down NS      put the guest's network back as the test bed made it
#   lan_rst_watch NS        count TCP RST packets in and out of NS (nftables)
#   lan_rsts NS             how many it counted
#   lan_estab_resets NS     NS's TcpEstabResets

lan_client_up() {
	local ns=$1 ip=$2 dev=$FERRY_NETDEV
	ip link add br0 type bridge
	ip link set br0 address "$(cat "/sys/class/net/$dev/address")"
	ip addr flush dev "$dev"
	ip link set "$dev" master br0
	ip link set br0 up
	ip addr add "$FERRY_MY_IP/24" dev br0
	ip netns add "$ns"
	ip link add vcb type veth peer name vc0 netns "$ns"
	ip link set vcb master br0
	ip link set vcb up
	ip -n "$ns" link set lo up
	ip -n "$ns" link set vc0 up
	ip -n "$ns" addr add "$ip/24" dev vc0
}

lan_client_down() {
	local ns=$1 dev=$FERRY_NETDEV
	ip netns del "$ns" 2>/dev/null
	ip link del br0 2>/dev/null
	ip addr flush dev "$dev"
	ip addr add "$FERRY_MY_IP/24" dev "$dev"
	ip link set "$dev" up
	return 0
}

lan_rst_watch() {
	ip netns exec "$1" nft -f - <<-'EOF'
	table inet rstwatch {
		chain in { type filter hook input priority 0; tcp flags & rst == rst counter; }
		chain out { type filter hook output priority 0; tcp flags & rst == rst counter; }
	}
	EOF
}
lan_rsts() {
	ip netns exec "$1" nft list table inet rstwatch |
		sed -n 's/.*packets \([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}'
}
lan_estab_resets() {
	ip netns exec "$1" awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++)
		if ($i == "EstabResets") c = i; h = 1 } else print $c }' /proc/net/snmp
}
