#!/bin/sh
# The calico-node image's CMD. Upstream's is start_runit: runit runs /etc/rc.local (calico-node -startup, the
# tunnel address pre-allocation, then picks the services for the backend) and then supervises
# /etc/service/enabled with runsvdir. This machine has no runit to pack into the image, so this script does
# rc.local's steps and runsv's job (restart a service one second after it exits: felix exits on purpose when
# its configuration changes) for the same services, each started by upstream's own run script, unchanged, in
# /etc/service/available. With CALICO_NETWORKING_BACKEND=vxlan upstream runs no BIRD or confd, and neither
# does this.

# Handle old CALICO_NETWORKING environment by converting to the new config (as rc.local does).
if [ -n "$CALICO_NETWORKING" ]; then
	if [ "$CALICO_NETWORKING" = "false" ]; then
		export CALICO_NETWORKING_BACKEND=none
	else
		export CALICO_NETWORKING_BACKEND=bird
	fi
fi

calico-node -startup || exit 1

if [ ! -f /var/lib/calico/nodename ]; then
	echo "/var/lib/calico/nodename does not exist, exiting"
	exit 1
fi
read -r NODENAME < /var/lib/calico/nodename
export NODENAME

calico-node -allocate-tunnel-addrs -allocate-tunnel-addrs-run-once || exit 1

services="allocate-tunnel-addrs node-status-reporter"
[ -z "$CALICO_DISABLE_FELIX" ] && services="felix $services"
[ "$CALICO_NETWORKING_BACKEND" != "none" ] && services="$services monitor-addresses"
case "$CALICO_NETWORKING_BACKEND" in
	none | vxlan) ;;
	*)
		echo "CALICO_NETWORKING_BACKEND=$CALICO_NETWORKING_BACKEND needs BIRD and confd, which this image does not carry"
		exit 1
		;;
esac
[ "$CALICO_MANAGE_CNI" != "false" ] && services="$services cni"

supervise() {
	while :; do
		"/etc/service/available/$1/run"
		echo "service $1 exited with $?; restarting it in 1 s"
		sleep 1
	done
}

for service in $services; do
	supervise "$service" &
done
echo "Calico node started successfully (services: $services)"
wait
