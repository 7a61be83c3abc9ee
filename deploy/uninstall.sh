#!/bin/bash
# SPDX-License-Identifier: MIT
# deploy/uninstall.sh: removes what deploy/install.sh installed: units,
# binaries, nginx site and snippets, accounts, rings.  /etc/vigil (certificate,
# password), the recordings (/var/lib/vigil) and a changed /etc/default/vigil
# are kept unless --purge.
#
#   sudo deploy/uninstall.sh [--purge]
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
prog=vigil-uninstall
say() { echo "$prog: $*"; }
die() { echo "$prog: $*" >&2; exit 1; }

purge=0
case ${1:-} in
--purge) purge=1 ;;
"") ;;
*) die "usage: $0 [--purge]" ;;
esac
[ "$(id -u)" -eq 0 ] || die "run me as root: sudo $0 $*"

if command -v systemctl >/dev/null; then
	units=$(systemctl list-units --all --plain --no-legend 'vigil-capture@*' 'vigil-capture-rpicam@*' 'vigil-server@*' 'vigil-record@*' 2>/dev/null | awk '{print $1}' || true)
	units+=" $(systemctl list-unit-files --plain --no-legend 'vigil-*' 2>/dev/null | awk '{print $1}' | grep -v '@\.service$' || true)"
	for u in $units; do
		systemctl disable --now "$u" 2>/dev/null || true
	done
fi
# What make install laid out, in deploy/install.sh's layout (the same list),
# then what install.sh made beyond it.
unset MAKEFLAGS MAKELEVEL MFLAGS
make -s -C "$src" uninstall PREFIX=/usr/local SYSCONFDIR=/etc SYSTEMDUNITDIR=/etc/systemd/system \
	SYSUSERSDIR=/etc/sysusers.d TMPFILESDIR=/etc/tmpfiles.d || die "make uninstall failed"
command -v systemctl >/dev/null && systemctl daemon-reload

rm -f /etc/nginx/sites-enabled/vigil /etc/nginx/snippets/vigil-ciphers.conf
if [ -e /etc/vigil/.default-site-disabled ] && [ -e /etc/nginx/sites-available/default ] &&
	[ ! -e /etc/nginx/sites-enabled/default ]; then
	ln -s ../sites-available/default /etc/nginx/sites-enabled/default
	rm -f /etc/vigil/.default-site-disabled
	say "re-enabled nginx's default site"
fi
if command -v nginx >/dev/null && nginx -t -q 2>/dev/null; then
	systemctl reload-or-restart nginx.service 2>/dev/null || true
fi

if [ -e /etc/fail2ban/jail.d/vigil.conf ]; then
	rm -f /etc/fail2ban/jail.d/vigil.conf
	systemctl reload-or-restart fail2ban.service 2>/dev/null || true
fi
# The daemons lived in /usr/local/bin before they moved to sbin.
rm -f /usr/local/bin/vigil-capture /usr/local/bin/vigil-server
rm -f /dev/shm/vigil.*
if [ $purge -eq 1 ]; then
	rm -rf /var/lib/vigil
fi

# Accounts: www-data leaves group vigil-web with it.  Kept recordings keep
# their numeric owner.
for u in vigil-capture vigil-web vigil-rec; do
	id "$u" >/dev/null 2>&1 && userdel "$u" 2>/dev/null || true
done
for g in vigil-web vigil-rec vigil; do
	getent group "$g" >/dev/null && groupdel "$g" 2>/dev/null || true
done

if [ $purge -eq 1 ]; then
	rm -rf /etc/vigil /etc/default/vigil /etc/default/vigil-*
	say "removed, with /etc/vigil, the recordings and /etc/default/vigil"
else
	say "removed; kept /etc/vigil (certificate, password), /var/lib/vigil (recordings) and a changed /etc/default/vigil (--purge removes them)"
fi
