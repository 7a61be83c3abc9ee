#!/bin/bash
# SPDX-License-Identifier: MIT
# deploy/install.sh: installs vigil as a system service on Raspberry Pi OS /
# Debian (run as root from the source folder; safe to run again: it updates
# binaries, units and nginx files and keeps configuration, certificate and
# password).
#
#   sudo deploy/install.sh [--camera NAME] [--servers N] [--rpicam] [--no-record]
#                          [--no-start]
#
#   --camera NAME  camera (ring) name, default cam0
#   --servers N    vigil-server instances behind nginx, default 2
#   --rpicam       capture through rpicam-vid (vigil-capture-rpicam@NAME)
#   --no-record    no motion recording (vigil-record@NAME left disabled)
#   --no-start     install and enable, start nothing
#
# What it does: Debian packages (deploy/deps.sh), build (as the user who ran
# sudo), make install (daemons in /usr/local/sbin, units, sysusers.d, tmpfiles.d,
# nginx snippets, /etc/default/vigil, docs), accounts,
# the certificate and the first password (/etc/vigil; the password is printed
# once and stored only hashed), the nginx site (HTTPS on 443, 80 -> 301), the
# recordings folder (/var/lib/vigil/recordings/NAME), the systemd units,
# enabled and started.
# DESTDIR=/some/dir stages the files there and changes nothing else (no
# packages, accounts, systemctl or nginx reload): for packaging and tests.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
prog=vigil-install
say() { echo "$prog: $*"; }
die() { echo "$prog: $*" >&2; exit 1; }

camera=cam0 servers=2 rpicam=0 record=1 start=1
while [ $# -gt 0 ]; do
	case $1 in
	--camera) camera=${2:?}; shift 2 ;;
	--servers) servers=${2:?}; shift 2 ;;
	--rpicam) rpicam=1; shift ;;
	--no-record) record=0; shift ;;
	--no-start) start=0; shift ;;
	-h | --help) sed -n '3,25s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown option '$1' (--help)" ;;
	esac
done
[[ $camera =~ ^[A-Za-z0-9_-]{1,32}$ ]] || die "bad camera name '$camera'"
[[ $servers =~ ^[0-9]+$ ]] && [ "$servers" -ge 1 ] && [ "$servers" -le 16 ] || die "--servers: 1 to 16"

D=${DESTDIR:-}
staged=0
[ -n "$D" ] && staged=1
if [ $staged -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
	die "run me as root: sudo $0 $*"
fi

# ------------------------------------------------------------ packages, build
if [ $staged -eq 0 ]; then
	"$src/deploy/deps.sh" --install run
	# rpicam-vid comes from Raspberry Pi OS's rpicam-apps.
	if [ $rpicam -eq 1 ] && ! command -v rpicam-vid >/dev/null; then
		apt-get install -y -q rpicam-apps || die "--rpicam needs rpicam-vid (apt-get install rpicam-apps)"
	fi
fi
if [ ! -x "$src/build/vigil-capture" ] || [ ! -x "$src/build/vigil-server" ] ||
	[ ! -x "$src/build/vigil-record" ] ||
	{ [ $staged -eq 0 ] && [ -n "$(find "$src/capture" "$src/server" "$src/recorder" "$src/common" "$src/www" -newer "$src/build/vigil-server" -type f 2>/dev/null | head -1)" ]; }; then
	say "building"
	# Build as the owner of the source folder, not as root.
	owner=$(stat -c %U "$src")
	if [ "$(id -u)" -eq 0 ] && [ "$owner" != root ]; then
		runuser -u "$owner" -- make -C "$src" build-all
	else
		make -C "$src" build-all
	fi
fi

# ------------------------------------------------------------ files
# The files themselves are make install's (the Makefile holds the one list);
# units, sysusers.d and tmpfiles.d go to /etc: the administrator's own copy.
# deploy/uninstall.sh uses the same layout.
layout=(PREFIX=/usr/local SYSCONFDIR=/etc SYSTEMDUNITDIR=/etc/systemd/system
	SYSUSERSDIR=/etc/sysusers.d TMPFILESDIR=/etc/tmpfiles.d)
new_default=0
[ -e "$D/etc/default/vigil" ] || new_default=1
unset MAKEFLAGS MAKELEVEL MFLAGS
make -s -C "$src" install DESTDIR="$D" "${layout[@]}" >/dev/null || die "make install failed"
# The daemons lived in /usr/local/bin before they moved to sbin.
rm -f "$D/usr/local/bin/vigil-capture" "$D/usr/local/bin/vigil-server"
if [ $new_default -eq 1 ]; then
	[ "$camera" = cam0 ] || sed -i "s/^VIGIL_CAMERA=.*/VIGIL_CAMERA=$camera/" "$D/etc/default/vigil"
	sed -i "s|recordings/cam0\"|recordings/$camera\"|" "$D/etc/default/vigil"
	[ $record -eq 1 ] || sed -i 's|^VIGIL_SERVER_RECORDINGS=.*|VIGIL_SERVER_RECORDINGS=|' "$D/etc/default/vigil"
	say "options: /etc/default/vigil"
fi
install -d "$D/etc/nginx/sites-enabled"

# ------------------------------------------------------------ accounts
if [ $staged -eq 0 ]; then
	command -v systemd-sysusers >/dev/null || die "systemd-sysusers not found (systemd is required)"
	systemd-sysusers /etc/sysusers.d/vigil.conf
	id vigil-capture >/dev/null && id vigil-web >/dev/null && id vigil-rec >/dev/null ||
		die "the vigil accounts were not created"
fi

# ------------------------------------------------------------ certificate, password
install -d -m 0750 "$D/etc/vigil"
install -d -m 0750 "$D/etc/vigil/tls"
"$D/usr/local/sbin/vigil-setup-tls" cert "$D/etc/vigil/tls"
web_group=www-data
getent group "$web_group" >/dev/null || die "no group '$web_group' (is nginx installed?)"
chgrp "$web_group" "$D/etc/vigil"
if [ ! -s "$D/etc/vigil/htpasswd" ]; then
	echo
	say "the first password (shown only now; change it with: sudo vigil-setup-tls password /etc/vigil/htpasswd --new --group www-data):"
	"$D/usr/local/sbin/vigil-setup-tls" password "$D/etc/vigil/htpasswd" --group "$web_group"
	echo
fi

# ------------------------------------------------------------ nginx
# ChaCha20 first on CPUs without AES instructions (Pi 4 and older).
if grep -qw aes /proc/cpuinfo; then ciphers=client; else ciphers=chacha; fi
install -m 0644 "$src/nginx/vigil-ciphers-$ciphers.conf" "$D/etc/nginx/snippets/vigil-ciphers.conf"
say "TLS cipher preference: $ciphers"
# The site, with one upstream line per server instance.
awk -v n="$servers" '
	/server unix:\/run\/vigil-web-1\/http.sock/ {
		for (i = 1; i <= n; i++) { line = $0; sub(/web-1/, "web-" i, line); print line }
		next
	}
	/server unix:\/run\/vigil-web-[0-9]+\/http.sock/ { next }
	{ print }' "$src/nginx/vigil-site.conf" >"$D/etc/nginx/sites-available/vigil"
ln -sfn ../sites-available/vigil "$D/etc/nginx/sites-enabled/vigil"
# Debian's stock default site also claims port 80 as default_server.
if [ -L "$D/etc/nginx/sites-enabled/default" ]; then
	rm -f "$D/etc/nginx/sites-enabled/default"
	touch "$D/etc/vigil/.default-site-disabled"
	say "disabled nginx's default site (deploy/uninstall.sh restores it)"
fi

# fail2ban, when installed, bans what the rate limit only slows down.
if [ -d "$D/etc/fail2ban/jail.d" ]; then
	install -m 0644 "$src/deploy/fail2ban-vigil.conf" "$D/etc/fail2ban/jail.d/vigil.conf"
	[ $staged -eq 1 ] || systemctl reload-or-restart fail2ban.service 2>/dev/null || true
	say "fail2ban jail: /etc/fail2ban/jail.d/vigil.conf"
fi

if [ $staged -eq 1 ]; then
	say "staged in $D"
	exit 0
fi

systemd-tmpfiles --create /etc/tmpfiles.d/vigil.conf
nginx -t -q || die "nginx rejects the configuration (see above)"

# ------------------------------------------------------------ units
systemctl daemon-reload
if [ $rpicam -eq 1 ]; then
	capture_unit=vigil-capture-rpicam@$camera.service
	systemctl disable --now "vigil-capture@$camera.service" 2>/dev/null || true
else
	capture_unit=vigil-capture@$camera.service
	systemctl disable --now "vigil-capture-rpicam@$camera.service" 2>/dev/null || true
fi
units=("$capture_unit")
for i in $(seq 1 "$servers"); do units+=("vigil-server@$i.service"); done
if [ $record -eq 1 ]; then
	units+=("vigil-record@$camera.service")
	say "recordings: /var/lib/vigil/recordings/$camera (options: VIGIL_RECORD_OPTS in /etc/default/vigil)"
else
	systemctl disable --now "vigil-record@$camera.service" 2>/dev/null || true
fi
systemctl enable "${units[@]}" nginx.service
if [ $start -eq 1 ]; then
	# Restarted (not just started) so that a re-install runs the new binaries;
	# the servers one by one, so viewers are never cut off.
	systemctl restart "$capture_unit"
	for i in $(seq 1 "$servers"); do systemctl restart "vigil-server@$i.service"; done
	[ $record -eq 0 ] || systemctl restart "vigil-record@$camera.service"
	# Restart, not reload: nginx's workers must pick up www-data's new
	# membership of group vigil-web.
	systemctl restart nginx.service
	sleep 1
	systemctl --no-pager --lines=0 status "${units[@]}" nginx.service | grep -E '^[^ ]|Active:' || true
fi

host=$(hostname)
echo
say "done: open https://$host.local/ (or https://<address>/), user vigil"
say "certificate authority to import in browsers: /etc/vigil/tls/ca.pem"
