#!/usr/bin/env bash
# demo-cluster.sh: the V2X cloud demo on one machine (README.md).
#
#   apps/v2x-cloud/demo-cluster.sh [FRAMES]     # FRAMES per roadside unit, default 100
#
# Starts a 3-server NATS JetStream cluster, mosquitto and a counting
# mosquitto_sub on loopback ports, then the seven ds3d processes (4 roadside
# units, 2 workers sharing one durable consumer, 1 fusion), waits for the
# end, prints frames sent, payloads received, loss, throughput and latency
# (v2xmeter report), and stops everything it started. Exit status: 0 when
# every frame's payload arrived, 1 on loss or a failed process, 2 when the
# demo could not start.
#
# Environment: DS3D (the ds3d binary, default bin/ds3d: `make build`),
# TIMEOUT (seconds for the whole run, default 300), RATE=HZ paces each
# roadside unit at HZ frames per second (ds3d run --realtime) instead of
# publishing as fast as the bus takes them, KEEP=1 keeps the work folder
# (logs, server stores) also on success.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
APP=$ROOT/apps/v2x-cloud
FRAMES=${1:-${FRAMES:-100}}
DS3D=${DS3D:-$ROOT/bin/ds3d}
TIMEOUT=${TIMEOUT:-300}
KEEP=${KEEP:-0}
RATE=${RATE:-}
RT=()
[[ -n $RATE ]] && RT=(--realtime --set "lidar.rate_hz=$RATE")
SOURCES=4

die() { echo "demo-cluster: $*" >&2; exit 2; }

[[ $FRAMES =~ ^[1-9][0-9]*$ ]] || die "FRAMES $FRAMES: want a positive number"
[[ -z $RATE || $RATE =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "RATE $RATE: want frames per second"
EXPECT=$((SOURCES * FRAMES))
[[ -x $DS3D ]] || die "$DS3D: no ds3d binary (make build, or set DS3D)"
"$DS3D" components bus_publish >/dev/null 2>&1 || die "$DS3D has no bus_publish component (rebuild: make build)"
for t in mosquitto mosquitto_sub go flock; do
	command -v "$t" >/dev/null || die "$t not found (Debian: apt-get install mosquitto mosquitto-clients; the Go toolchain)"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/v2x-cloud.XXXXXX") || die "mktemp failed"
mkdir -p "$WORK/logs"
PIDS=()
STATUS=2

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for _ in $(seq 50); do
		local alive=0
		for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		((alive)) || break
		sleep 0.1
	done
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [[ $STATUS == 0 && $KEEP != 1 ]]; then
		rm -rf "$WORK"
	else
		echo "demo-cluster: logs and stores kept in $WORK" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# nats-server built from the module's version, cached where the tests'
# testenv.NATSServer keeps it (ds3d-go/nats-server-VERSION): the flock on
# the same lock file makes one of them build it.
NATSVER=$(cd "$ROOT" && go list -m -f '{{.Version}}' github.com/nats-io/nats-server/v2) || die "go list nats-server failed"
NATSDIR=${XDG_CACHE_HOME:-$HOME/.cache}/ds3d-go/nats-server-$NATSVER
NATS=$NATSDIR/nats-server
mkdir -p "$NATSDIR"
(
	flock 9
	if [[ ! -x $NATS ]]; then
		cd "$ROOT" && go build -o "$NATS.tmp" github.com/nats-io/nats-server/v2 && mv "$NATS.tmp" "$NATS"
	fi
) 9>"$NATSDIR/lock" || die "building nats-server failed"
(cd "$ROOT" && go build -o "$WORK/v2xmeter" ./apps/v2x-cloud/cmd/v2xmeter) || die "building v2xmeter failed"
METER=$WORK/v2xmeter

read -r -a P <<<"$("$METER" ports 7)" || die "no free ports"
CPORT=("${P[0]}" "${P[1]}" "${P[2]}") # NATS clients
RPORT=("${P[3]}" "${P[4]}" "${P[5]}") # NATS cluster routes
MPORT=${P[6]}                         # MQTT
URL="nats://127.0.0.1:${CPORT[0]},nats://127.0.0.1:${CPORT[1]},nats://127.0.0.1:${CPORT[2]}"
ROUTES="nats-route://127.0.0.1:${RPORT[0]},nats-route://127.0.0.1:${RPORT[1]},nats-route://127.0.0.1:${RPORT[2]}"

start() { # name, command...: run in the background, log to logs/name.log
	local name=$1
	shift
	"$@" >"$WORK/logs/$name.log" 2>&1 &
	PIDS+=($!)
	eval "PID_${name//-/_}=$!"
}

for i in 0 1 2; do
	mkdir -p "$WORK/n$i"
	cat >"$WORK/n$i.conf" <<-EOF
		server_name: n$i
		listen: 127.0.0.1:${CPORT[$i]}
		max_payload: 8MB
		jetstream { store_dir: "$WORK/n$i" }
		cluster { name: v2x, listen: 127.0.0.1:${RPORT[$i]}, routes: [$ROUTES] }
	EOF
	start "nats$i" "$NATS" -c "$WORK/n$i.conf"
done
cat >"$WORK/mosquitto.conf" <<-EOF
	listener $MPORT 127.0.0.1
	allow_anonymous true
	persistence false
EOF
start mosquitto mosquitto -c "$WORK/mosquitto.conf"

"$METER" waitjs -nats "$URL" -timeout 60s || die "the JetStream cluster did not come up (logs in $WORK/logs)"
for _ in $(seq 50); do
	mosquitto_sub -h 127.0.0.1 -p "$MPORT" -t ready -W 1 -C 1 -E >/dev/null 2>&1 && break
	sleep 0.1
done

# The counting subscriber: one line per payload, receipt time first.
start mqtt-sub mosquitto_sub -h 127.0.0.1 -p "$MPORT" -q 1 -t 'v2x/tracks/#' -F '%U %p' -C "$EXPECT" -W "$TIMEOUT"
rm -f "$WORK/watch.ready"
start watch "$METER" watch -nats "$URL" -subject 'V2X_RSU.dm.*' -o "$WORK/sent.tsv" -ready "$WORK/watch.ready"
for _ in $(seq 100); do [[ -e $WORK/watch.ready ]] && break; sleep 0.1; done
[[ -e $WORK/watch.ready ]] || die "v2xmeter watch did not subscribe (logs in $WORK/logs)"
sleep 0.5 # mosquitto_sub has no ready signal; it connects in a few ms

echo "demo-cluster: 3 NATS servers (client ports ${CPORT[*]}), mosquitto on $MPORT, $SOURCES roadside units × $FRAMES frames${RATE:+ at $RATE Hz}, 2 workers, 1 fusion"
T0=$(date +%s.%N)
# Each subscriber starts once the one before it is ready: the stream
# exists and the subscriber's pull request waits at the server. Creating a
# replicated stream goes through the cluster's meta leader, and the next
# processes update the same stream; started all at once on a busy machine,
# they outlast connect_timeout, and a subscriber set up while its stream
# was being updated has been seen to get nothing (README.md, "Limits").
start fusion "$DS3D" run --set det.url="$URL" --set det.max_datamaps="$EXPECT" \
	--set mqtt.mqtt.broker="tcp://127.0.0.1:$MPORT" "$APP/fusion.toml"
"$METER" waitjs -nats "$URL" -stream V2X_DET -consumer v2x-fusion -timeout 60s ||
	die "the fusion did not subscribe to stream V2X_DET (logs in $WORK/logs)"
start worker0 "$DS3D" run ${V2X_VERBOSE:+-v} ${V2X_WORKER_SET:+--set "$V2X_WORKER_SET"} --set rsu.url="$URL" --set det.url="$URL" "$APP/worker.toml"
"$METER" waitjs -nats "$URL" -stream V2X_RSU -consumer v2x-detect -timeout 60s ||
	die "worker0 did not subscribe to stream V2X_RSU (logs in $WORK/logs)"
start worker1 "$DS3D" run ${V2X_VERBOSE:+-v} ${V2X_WORKER_SET:+--set "$V2X_WORKER_SET"} --set rsu.url="$URL" --set det.url="$URL" "$APP/worker.toml"
"$METER" waitjs -nats "$URL" -stream V2X_RSU -consumer v2x-detect -waiting 2 -timeout 60s ||
	die "worker1 did not subscribe to stream V2X_RSU (logs in $WORK/logs)"
# Poses: yaw 0°, 90°, 180°, 270° about the intersection centre (row-major [R|t]).
POSE=("[1,0,0,0, 0,1,0,0, 0,0,1,0]" "[0,-1,0,0, 1,0,0,0, 0,0,1,0]"
	"[-1,0,0,0, 0,-1,0,0, 0,0,1,0]" "[0,1,0,0, -1,0,0,0, 0,0,1,0]")
for k in 0 1 2 3; do
	start "rsu$k" "$DS3D" run "${RT[@]}" --set lidar.source_id="$k" --set lidar.max_frames="$FRAMES" \
		--set pose.matrix="${POSE[$k]}" --set publish.url="$URL" "$APP/roadside.toml"
done

FAILED=()
# waitpid name seconds [stop]: wait for a started process to end; a
# non-zero status goes into FAILED, and so does a timeout unless "stop" is
# given: then the process is stopped (SIGTERM) and that is no failure.
waitpid() {
	local name=$1 secs=$2 stop=${3:-} pidvar="PID_${1//-/_}" rc
	local pid=${!pidvar}
	local end=$((SECONDS + secs))
	while kill -0 "$pid" 2>/dev/null && ((SECONDS < end)); do sleep 0.2; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		[[ $stop == stop ]] || FAILED+=("$name (still running after ${secs}s)")
		return
	fi
	wait "$pid"
	rc=$?
	((rc == 0)) || FAILED+=("$name (exit $rc)")
}

for k in 0 1 2 3; do waitpid "rsu$k" "$TIMEOUT"; done
waitpid fusion "$TIMEOUT"
waitpid mqtt-sub 30
T1=$(date +%s.%N)
# A worker ends idle_timeout after its last datamap; one that never got
# any (the other took them all) waits for ever, so stop what is left.
waitpid worker0 10 stop
waitpid worker1 10 stop
for w in worker0 worker1; do
	n=$(tr '\r' '\n' <"$WORK/logs/$w.log" | sed -n 's/^pipeline v2x-worker: \([0-9]*\) datamaps.*/\1/p')
	echo "demo-cluster: $w: ${n:-no} datamaps processed"
done
kill -TERM "$PID_watch" 2>/dev/null
waitpid watch 10

echo "demo-cluster: run took $(awk "BEGIN{printf \"%.1f\", $T1-$T0}") s (process start to the last payload)"
"$METER" report -sent "$WORK/sent.tsv" -mqtt "$WORK/logs/mqtt-sub.log" -expect "$EXPECT"
rc=$?
if ((${#FAILED[@]})); then
	echo "demo-cluster: failed: ${FAILED[*]}" >&2
	for f in "${FAILED[@]}"; do
		n=${f%% *}
		echo "--- $n.log (last lines)" >&2
		tail -n 15 "$WORK/logs/$n.log" | cut -c1-300 >&2
	done
	rc=1
fi
STATUS=$rc
exit "$rc"
