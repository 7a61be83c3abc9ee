#!/bin/bash
# SPDX-License-Identifier: MIT
# deploy/run.sh: the whole camera in the foreground, for `make run`.
# Makes a run folder (certificate, password, nginx.conf, sockets, logs,
# recordings), then starts vigil-capture, SERVERS vigil-servers on unix
# sockets, vigil-record (motion events into RUN_DIR/recordings/CAMERA) and
# nginx (TLS, basic auth) as the current user, prints the URL and the
# password, and stops everything on Ctrl-C or when any of them fails.
#
# Settings (environment; `make run` passes its variables of the same names):
#   PORT=8443         HTTPS port
#   HTTP_PORT=PORT-1  plain-HTTP port answering 301 to https (0: none)
#   ADDR=             listen address (default: every address, IPv4 and IPv6)
#   SOURCE=           capture source (default: capture's own, a camera if found)
#   SIZE=WxH FPS=N    picture size and rate (default: capture's)
#   SERVERS=2         number of vigil-server processes
#   CAMERA=cam0       camera (ring) name
#   CAMERAS=1         test cameras: CAMERAS=3 starts captures CAMERA,
#                     CAMERA-2, CAMERA-3 (the others testsrc pictures of
#                     other sizes, rates and overlays); the servers serve
#                     all of them (/cam/NAME/), the page opens on a grid
#   RUN_DIR=./run     run folder (kept between runs: same certificate, password,
#                     recordings)
#   RECORD=1          0: no vigil-record
#   MAX_SIZE=500M     most the recordings may take (vigil-record --max-size)
#   VIGIL_BUILD=build where the binaries are
#   TLS_CIPHERS=      "chacha" or "client" (default: by the CPU's AES support)
#   MQTT=             mqtt://HOST:PORT: notify motion events to that broker
# Usage: deploy/run.sh [--prepare]   (--prepare: make the run folder and
# nginx.conf, start nothing)
set -uo pipefail

# wait -n -p (which child ended) needs bash 5.1 (Debian 12, Raspberry Pi OS
# bookworm have 5.2).
if [ "${BASH_VERSINFO[0]}" -lt 5 ] || { [ "${BASH_VERSINFO[0]}" -eq 5 ] && [ "${BASH_VERSINFO[1]}" -lt 1 ]; }; then
	echo "make run: needs bash 5.1 or newer" >&2
	exit 1
fi
# A shell that starts a command in the background without job control makes
# it ignore SIGINT, and bash cannot trap a signal ignored on entry: restore
# the default once, so SIGINT always means "stop everything cleanly".
if [ -z "${VIGIL_RUN_SIGRESET:-}" ] && [ -r /proc/$$/status ]; then
	ign=$(awk '/^SigIgn:/ {print $2}' /proc/$$/status)
	if [ -n "$ign" ] && (( 0x$ign & 2 )) && env --default-signal=INT true 2>/dev/null; then
		VIGIL_RUN_SIGRESET=1 exec env --default-signal=INT bash "$0" "$@"
	fi
fi
root=$(cd "$(dirname "$0")/.." && pwd)
prog="make run"
say() { echo "$prog: $*" >&2; }
die() { say "$*"; exit 1; }

prepare_only=0
case ${1:-} in
--prepare) prepare_only=1 ;;
"") ;;
*) echo "usage: deploy/run.sh [--prepare]" >&2; exit 2 ;;
esac

PORT=${PORT:-8443}
http_port_given=${HTTP_PORT:+1}
HTTP_PORT=${HTTP_PORT:-$((PORT - 1))}
ADDR=${ADDR:-}
SOURCE=${SOURCE:-}
SIZE=${SIZE:-}
FPS=${FPS:-}
SERVERS=${SERVERS:-2}
CAMERA=${CAMERA:-cam0}
CAMERAS=${CAMERAS:-1}
RUN_DIR=${RUN_DIR:-$root/run}
RECORD=${RECORD:-1}
MAX_SIZE=${MAX_SIZE:-500M}
build=${VIGIL_BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac

is_port() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ]; }
is_port "$PORT" || die "PORT must be a port number, not '$PORT'"
[ "$HTTP_PORT" = 0 ] || is_port "$HTTP_PORT" || die "HTTP_PORT must be a port number or 0, not '$HTTP_PORT'"
[ "$HTTP_PORT" != "$PORT" ] || die "HTTP_PORT and PORT must differ"
[[ $SERVERS =~ ^[0-9]+$ ]] && [ "$SERVERS" -ge 1 ] && [ "$SERVERS" -le 16 ] ||
	die "SERVERS must be 1 to 16, not '$SERVERS'"
[[ $CAMERA =~ ^[A-Za-z0-9_-]{1,32}$ ]] || die "CAMERA must be 1-32 of A-Z a-z 0-9 _ -, not '$CAMERA'"
[[ $CAMERAS =~ ^[0-9]+$ ]] && [ "$CAMERAS" -ge 1 ] && [ "$CAMERAS" -le 16 ] ||
	die "CAMERAS must be 1 to 16, not '$CAMERAS'"
[ "$CAMERAS" -eq 1 ] || [ ${#CAMERA} -le 29 ] || die "CAMERA must be at most 29 characters with CAMERAS"
cameras=("$CAMERA")
for ((k = 2; k <= CAMERAS; k++)); do cameras+=("$CAMERA-$k"); done
[ -z "$SIZE" ] || [[ $SIZE =~ ^[0-9]+x[0-9]+$ ]] || die "SIZE must look like 1280x720, not '$SIZE'"
[[ $RECORD =~ ^[01]$ ]] || die "RECORD must be 0 or 1, not '$RECORD'"
[[ $MAX_SIZE =~ ^[0-9]+[kMG]?$ ]] || die "MAX_SIZE must look like 500M, not '$MAX_SIZE'"
[ -z "$FPS" ] || [[ $FPS =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "FPS must be a number, not '$FPS'"

capture_bin=$build/vigil-capture
server_bin=$build/vigil-server
record_bin=$build/vigil-record
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx_bin" ] || die "nginx is not installed (deploy/deps.sh --install run)"

# ---------------------------------------------------------------- run folder

mkdir -p "$RUN_DIR" || die "cannot create the run folder '$RUN_DIR'"
RUN_DIR=$(cd "$RUN_DIR" && pwd)
mkdir -p "$RUN_DIR/logs" "$RUN_DIR/nginx/tmp" || die "cannot write in '$RUN_DIR'"
chmod 0700 "$RUN_DIR"
# sun_path holds 108 bytes.
[ ${#RUN_DIR} -le 90 ] || die "the run folder path is too long for unix sockets: '$RUN_DIR'"

# One `make run` per run folder: the lock is held as long as this script runs
# (fd 9 is closed for the children, so it dies with us).
exec 9>"$RUN_DIR/.lock"
flock -n 9 || die "another 'make run' is using '$RUN_DIR'"

# nginx started by root drops its workers to an unprivileged user; they must
# still reach the sockets and htpasswd.  The setgid run folder gives every
# file made in it that user's group.
worker_user=""
group_opt=()
if [ "$(id -u)" -eq 0 ]; then
	worker_user=nobody
	worker_group=$(id -gn nobody 2>/dev/null) || die "no 'nobody' user for nginx's workers"
	chgrp "$worker_group" "$RUN_DIR" "$RUN_DIR/logs" && chmod 2710 "$RUN_DIR" ||
		die "cannot give '$RUN_DIR' to group '$worker_group'"
	group_opt=(--group "$worker_group")
fi

setup=$root/deploy/vigil-setup-tls.sh
"$setup" cert "$RUN_DIR" 2>"$RUN_DIR/logs/tls.log" || { cat "$RUN_DIR/logs/tls.log" >&2; die "cannot make the certificate"; }
grep -q 'new local CA' "$RUN_DIR/logs/tls.log" && say "new certificate authority: $RUN_DIR/ca.pem"
if [ ! -s "$RUN_DIR/htpasswd" ] || [ ! -s "$RUN_DIR/password" ]; then
	"$setup" password "$RUN_DIR/htpasswd" --new --save "$RUN_DIR/password" "${group_opt[@]}" >/dev/null ||
		die "cannot make the password"
	say "new password, kept in $RUN_DIR/password"
fi
[ -z "$worker_user" ] || { chgrp "$worker_group" "$RUN_DIR/htpasswd" && chmod 0640 "$RUN_DIR/htpasswd"; } ||
	die "cannot let nginx's workers read '$RUN_DIR/htpasswd'"
password=$(cat "$RUN_DIR/password")

# AES instructions: "aes" in x86 flags and in ARM Features alike.
ciphers=${TLS_CIPHERS:-}
if [ -z "$ciphers" ]; then
	if grep -qw aes /proc/cpuinfo 2>/dev/null; then ciphers=client; else ciphers=chacha; fi
fi
case $ciphers in chacha | client) ;; *) die "TLS_CIPHERS must be chacha or client" ;; esac

# ---------------------------------------------------------------- nginx.conf

listen_lines() { # port extra
	local p=$1 extra=$2
	if [ -n "$ADDR" ]; then
		case $ADDR in
		*:*) echo "        listen [${ADDR#[}]:$p$extra;" | sed 's/\]\]/]/' ;;
		*) echo "        listen $ADDR:$p$extra;" ;;
		esac
	else
		echo "        listen $p$extra;"
		[ -e /proc/net/if_inet6 ] && echo "        listen [::]:$p$extra ipv6only=on;"
	fi
}

# The template's first server {} is the plain-HTTP redirect.
drop_http_server() {
	awk '/^    server \{$/ && !done { skip = 1 } skip && /^    \}$/ { skip = 0; done = 1; next } !skip'
}

upstreams=""
for i in $(seq 1 "$SERVERS"); do
	upstreams+="        server unix:$RUN_DIR/web$i.sock max_fails=0;"$'\n'
done
if [ "$HTTP_PORT" = 0 ]; then
	listen_http=""
else
	listen_http=$(listen_lines "$HTTP_PORT" "")
fi
tpl=$(cat "$root/nginx/local.conf.in") || die "cannot read nginx/local.conf.in"
tpl=${tpl//@RUN_DIR@/$RUN_DIR}
tpl=${tpl//@NGINX_DIR@/$root/nginx}
tpl=${tpl//@PORT@/$PORT}
tpl=${tpl//@CIPHERS@/$ciphers}
tpl=${tpl//@UPSTREAM_SERVERS@/${upstreams%$'\n'}}
tpl=${tpl//@LISTEN_HTTPS@/$(listen_lines "$PORT" " ssl http2 sndbuf=256k")}
tpl=${tpl//@LISTEN_HTTP@/$listen_http}
if [ -n "$worker_user" ]; then
	tpl="user $worker_user $worker_group;"$'\n'"$tpl"
fi
if [ "$HTTP_PORT" = 0 ]; then
	# No plain-HTTP server at all: drop its (now listen-less) block.
	tpl=$(printf '%s\n' "$tpl" | drop_http_server)
fi
printf '%s\n' "$tpl" >"$RUN_DIR/nginx/nginx.conf"
nginx_args=(-p "$RUN_DIR/nginx/" -c "$RUN_DIR/nginx/nginx.conf" -e "$RUN_DIR/logs/nginx.error.log")
"$nginx_bin" -t -q "${nginx_args[@]}" 2>"$RUN_DIR/logs/nginx-test.log" || {
	cat "$RUN_DIR/logs/nginx-test.log" >&2
	die "the generated $RUN_DIR/nginx/nginx.conf does not load"
}

if [ $prepare_only -eq 1 ]; then
	echo "$RUN_DIR/nginx/nginx.conf"
	exit 0
fi
bins=("$capture_bin" "$server_bin")
[ "$RECORD" = 0 ] && [ -z "${MQTT:-}" ] || bins+=("$record_bin")
for b in "${bins[@]}"; do
	[ -x "$b" ] || die "'$b' is missing: run 'make build-all' first"
done

# ---------------------------------------------------------------- ports

port_busy() {
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}
port_busy "$PORT" && die "port $PORT is already in use; choose another: make run PORT=8444"
if [ "$HTTP_PORT" != 0 ] && port_busy "$HTTP_PORT"; then
	if [ -n "$http_port_given" ]; then
		die "port $HTTP_PORT (HTTP_PORT) is already in use; choose another, or HTTP_PORT=0 for none"
	fi
	say "port $HTTP_PORT is in use: no http->https redirect (set HTTP_PORT to choose one)"
	HTTP_PORT=0
	tpl=$(drop_http_server <"$RUN_DIR/nginx/nginx.conf")
	printf '%s\n' "$tpl" >"$RUN_DIR/nginx/nginx.conf"
fi

# ---------------------------------------------------------------- processes

names=() pids=()
stopping=0

# A child dies with this script even if it is killed outright (SIGKILL):
# setpriv sets the parent-death signal before exec'ing the daemon.
pdeath=()
setpriv --help 2>/dev/null | grep -q -- --pdeathsig && pdeath=(setpriv --pdeathsig TERM --)

spawn() { # name log command...
	local name=$1 log=$2
	shift 2
	"${pdeath[@]}" "$@" </dev/null >"$log" 2>&1 9>&- &
	names+=("$name")
	pids+=($!)
}

alive() { kill -0 "$1" 2>/dev/null; }

stop_all() {
	local i pid deadline
	[ ${#pids[@]} -gt 0 ] || return 0
	# nginx first (no new requests), then the recorder (it closes its
	# event), the servers, then capture.
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		alive "${pids[i]}" && kill -TERM "${pids[i]}" 2>/dev/null
	done
	deadline=$((SECONDS + 5))
	for pid in "${pids[@]}"; do
		while alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
	done
	for i in "${!pids[@]}"; do
		if alive "${pids[i]}"; then
			say "${names[i]} did not stop within 5 s: killed"
			kill -KILL "${pids[i]}" 2>/dev/null
		fi
	done
	wait 2>/dev/null
	pids=() names=()
}

on_exit() {
	local rc=$?
	trap - EXIT INT TERM
	stop_all
	exit $rc
}
on_signal() {
	stopping=1
	trap - EXIT INT TERM
	echo >&2
	say "stopping"
	stop_all
	say "stopped"
	exit 130
}
trap on_exit EXIT
trap on_signal INT TERM HUP

show_log() { # name log
	[ -s "$2" ] && tail -n 15 "$2" | sed "s/^/  $1: /" >&2
}

wait_until() { # seconds pid command...: true once command succeeds
	local end=$((SECONDS * 10 + $1 * 10)) pid=$2
	shift 2
	while :; do
		"$@" && return 0
		alive "$pid" || return 1
		[ $((SECONDS * 10)) -lt $end ] || return 1
		sleep 0.05
	done
}

ring=/dev/shm/vigil.$CAMERA
ring_inode() { stat -c %i "$ring" 2>/dev/null || echo none; }

# The test cameras after the first: testsrc pictures that differ at a
# glance (size, rate, overlay text).
extra_sizes=(640x360 480x480 800x450 320x240)
extra_fps=(10 6 15 5)
for ((k = 1; k <= CAMERAS; k++)); do
	cam=${cameras[k - 1]}
	ring=/dev/shm/vigil.$cam
	old_inode=$(ring_inode)
	ring_is_new() { [ "$(ring_inode)" != none ] && [ "$(ring_inode)" != "$old_inode" ]; }
	capture_args=(--camera "$cam")
	if [ "$k" -eq 1 ]; then
		[ -n "$SOURCE" ] && capture_args+=(--source "$SOURCE")
		[ -n "$SIZE" ] && capture_args+=(--size "$SIZE")
		[ -n "$FPS" ] && capture_args+=(--fps "$FPS")
	else
		j=$(((k - 2) % ${#extra_sizes[@]}))
		capture_args+=(--source testsrc --size "${extra_sizes[j]}" --fps "${extra_fps[j]}"
			--overlay "camera $cam  %H:%M:%S")
		[ $((k % 2)) -eq 1 ] && capture_args+=(--hflip)
	fi
	log=$RUN_DIR/logs/capture.log
	[ "$k" -eq 1 ] || log=$RUN_DIR/logs/capture-$cam.log
	name=vigil-capture
	[ "$k" -eq 1 ] || name="vigil-capture $cam"
	spawn "$name" "$log" "$capture_bin" "${capture_args[@]}"
	if ! wait_until 10 "${pids[-1]}" ring_is_new; then
		show_log capture "$log"
		what="camera '$cam'"
		[ "$k" -gt 1 ] || [ -z "$SOURCE" ] || what+=", source '$SOURCE'"
		die "vigil-capture did not start ($what); log: $log"
	fi
	grep -v '^$' "$log" | head -n 5 | sed "s/^/  capture $cam: /" >&2
done
server_cameras=$(IFS=,; echo "${cameras[*]}")

# The recordings: vigil-record writes them, the servers list and play them.
recordings=$RUN_DIR/recordings/$CAMERA
server_rec=()
if [ "$RECORD" = 1 ]; then
	# 0750, as vigil-record makes it: the servers read, nobody else.
	mkdir -p "$RUN_DIR/recordings" && { [ -d "$recordings" ] || mkdir -m 0750 "$recordings"; } ||
		die "cannot create '$recordings'"
	server_rec=(--recordings "$recordings")
fi

for i in $(seq 1 "$SERVERS"); do
	sock=$RUN_DIR/web$i.sock
	rm -f "$sock"
	# umask 007: the socket is rw for the run folder's group (nginx's
	# workers when started by root), nobody else.
	umask_old=$(umask)
	umask 007
	spawn "vigil-server $i" "$RUN_DIR/logs/server$i.log" "$server_bin" --cameras "$server_cameras" \
		--listen "unix:$sock" "${server_rec[@]}"
	umask "$umask_old"
done
for i in $(seq 1 "$SERVERS"); do
	if ! wait_until 10 "${pids[CAMERAS + i - 1]}" test -S "$RUN_DIR/web$i.sock"; then
		show_log "server $i" "$RUN_DIR/logs/server$i.log"
		die "vigil-server $i did not start; log: $RUN_DIR/logs/server$i.log"
	fi
done

state_fresh() { # state.json written in the last 10 s
	[ -n "$(find "$recordings/state.json" -newermt '-10 seconds' 2>/dev/null)" ]
}
# MQTT=mqtt://HOST:PORT: vigil-record also notifies the motion events to that
# broker (docs/notifications.md); with RECORD=0 it only notifies.
notify=()
[ -z "${MQTT:-}" ] || notify=(--mqtt "$MQTT" --public-url "https://localhost:$PORT")
if [ "$RECORD" = 1 ]; then
	spawn vigil-record "$RUN_DIR/logs/record.log" "$record_bin" --camera "$CAMERA" \
		--dir "$recordings" --max-size "$MAX_SIZE" --min-free 5% "${notify[@]}"
	if ! wait_until 10 "${pids[-1]}" state_fresh; then
		show_log record "$RUN_DIR/logs/record.log"
		die "vigil-record did not start; log: $RUN_DIR/logs/record.log"
	fi
elif [ -n "${MQTT:-}" ]; then
	spawn vigil-record "$RUN_DIR/logs/record.log" "$record_bin" --camera "$CAMERA" \
		"${notify[@]}"
fi

port_listening() {
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Hltn "sport = :$PORT" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/${ADDR:-127.0.0.1}/$PORT") 2>/dev/null
	fi
}
spawn nginx "$RUN_DIR/logs/nginx.out" "$nginx_bin" "${nginx_args[@]}"
if ! wait_until 10 "${pids[-1]}" port_listening; then
	show_log nginx "$RUN_DIR/logs/nginx.error.log"
	show_log nginx "$RUN_DIR/logs/nginx.out"
	die "nginx did not start; log: $RUN_DIR/logs/nginx.error.log"
fi

if [ -n "$ADDR" ]; then
	case $ADDR in *:*) host="[${ADDR#[}" && host=${host%]}] ;; *) host=$ADDR ;; esac
else
	host=localhost
fi
echo "open https://$host:$PORT/  user: vigil  password: $password"
if [ -z "$ADDR" ]; then
	lan=$(hostname 2>/dev/null)
	[ -n "$lan" ] && echo "  from the LAN: https://${lan%%.*}.local:$PORT/ or https://<address>:$PORT/"
fi
echo "  certificate authority: $RUN_DIR/ca.pem (curl --cacert $RUN_DIR/ca.pem -u vigil:... https://$host:$PORT/stream.mjpg)"
if [ "$RECORD" = 1 ]; then
	echo "  recordings: $recordings/ (motion events, at most $MAX_SIZE; RECORD=0: none)"
fi
echo "  logs: $RUN_DIR/logs/   stop: Ctrl-C"

# Watch: any child that exits stops the whole camera.
while :; do
	died=""
	wait -n -p died "${pids[@]}"
	rc=$?
	[ $stopping -eq 1 ] && exit 0
	[ -n "$died" ] || continue
	for i in "${!pids[@]}"; do
		[ "${pids[i]}" = "$died" ] || continue
		name=${names[i]}
		case $name in
		nginx) log=$RUN_DIR/logs/nginx.error.log ;;
		vigil-capture) log=$RUN_DIR/logs/capture.log ;;
		vigil-record) log=$RUN_DIR/logs/record.log ;;
		"vigil-capture "*) log=$RUN_DIR/logs/capture-${name#vigil-capture }.log ;;
		*) log=$RUN_DIR/logs/server${name##* }.log ;;
		esac
		say "$name exited (status $rc): stopping everything"
		show_log "$name" "$log"
		unset 'pids[i]' 'names[i]'
		pids=("${pids[@]}") names=("${names[@]}")
		exit 1
	done
done
