#!/bin/bash
# SPDX-License-Identifier: MIT
# vigil-setup-tls: the certificate and the password of a vigil camera, for
# `make run` (deploy/run.sh) and for a Pi install (deploy/install.sh).
#
#   vigil-setup-tls.sh cert DIR [NAME|ADDRESS ...]
#       Makes DIR/ca.pem + ca.key (a local certificate authority, name-
#       constrained to this host's names and private addresses, so its key
#       cannot vouch for anyone's bank) and DIR/cert.pem + key.pem (the
#       server's certificate, ECDSA P-256, SANs: localhost, the host name,
#       <host>.local, every address of the host, 127.0.0.1, ::1, and the extra
#       names given).  Existing files are kept; the server certificate is
#       re-issued when the host's names or addresses changed or it expires
#       within 30 days.  Import ca.pem into a browser (or curl --cacert) once.
#
#   vigil-setup-tls.sh password HTPASSWD [--user NAME] [--new] [--stdin]
#                                        [--save FILE] [--group GROUP]
#       Makes an htpasswd file with one user (default "vigil") and a SHA-512
#       crypt hash (openssl passwd -6).  Without --stdin the password is 24
#       random characters (144 bits) printed once on stdout; with --stdin it
#       is read from the first line of standard input.  --save keeps the
#       plain text in FILE (mode 0600) for `make run`.  An existing htpasswd
#       is kept unless --new.  --group makes the file GROUP-readable (0640),
#       e.g. www-data for nginx's workers; else it is 0600.
#
# Exit status: 0 done, 1 failure, 2 bad usage.
set -euo pipefail

prog=vigil-setup-tls
die() { echo "$prog: $*" >&2; exit 1; }
usage() { sed -n '3,27s/^# \{0,1\}//p' "$0" >&2; exit 2; }

command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"

# ------------------------------------------------------------------ names

host_names() {
	local h
	h=$(hostname 2>/dev/null || uname -n)
	h=${h%%.*}
	echo "DNS:localhost"
	[ -n "$h" ] && [ "$h" != localhost ] && echo "DNS:$h" && echo "DNS:$h.local"
	echo "IP:127.0.0.1"
	echo "IP:::1"
	local a
	for a in $(hostname -I 2>/dev/null || true); do
		case $a in fe80:*) continue ;; esac
		echo "IP:$a"
	done
	for a in "$@"; do
		case $a in
		*:*:* | [0-9]*.[0-9]*.[0-9]*.[0-9]*) echo "IP:$a" ;;
		*) echo "DNS:$a" ;;
		esac
	done
}

# IPv4 / IPv6 subtrees a home camera's addresses live in.
ca_constraints() {
	local n c=""
	for n in "$@"; do
		case $n in
		DNS:*) c="$c,permitted;$n" ;;
		IP:*:*) c="$c,permitted;$n/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" ;;
		IP:*) c="$c,permitted;$n/255.255.255.255" ;;
		esac
	done
	c="$c,permitted;IP:127.0.0.0/255.0.0.0,permitted;IP:10.0.0.0/255.0.0.0"
	c="$c,permitted;IP:172.16.0.0/255.240.0.0,permitted;IP:192.168.0.0/255.255.0.0"
	c="$c,permitted;IP:100.64.0.0/255.192.0.0,permitted;IP:169.254.0.0/255.255.0.0"
	c="$c,permitted;IP:fc00::/fe00::,permitted;IP:fe80::/ffc0::"
	echo "critical${c}"
}

# ------------------------------------------------------------------ cert

make_ca() { # dir names...
	local dir=$1
	shift
	local h
	h=$(hostname 2>/dev/null || echo vigil)
	(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$dir/ca.key.new" 2>/dev/null) || die "cannot make a key in '$dir'"
	openssl req -x509 -new -key "$dir/ca.key.new" -sha256 -days 3650 \
		-subj "/CN=vigil local CA ($h)" \
		-addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-addext "nameConstraints=$(ca_constraints "$@")" \
		-out "$dir/ca.pem.new" 2>/dev/null || die "cannot make the CA certificate in '$dir'"
	chmod 0644 "$dir/ca.pem.new"
	mv -f "$dir/ca.key.new" "$dir/ca.key"
	mv -f "$dir/ca.pem.new" "$dir/ca.pem"
	echo "$prog: new local CA '$dir/ca.pem' (import it into your browser, or use curl --cacert)" >&2
}

issue_cert() { # dir names...
	local dir=$1
	shift
	local cn san ext
	cn=$(hostname 2>/dev/null || echo localhost)
	san=$(IFS=,; echo "$*")
	ext=$(mktemp)
	# shellcheck disable=SC2064
	trap "rm -f '$ext'" RETURN
	printf '%s\n' "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth" \
		"subjectAltName=$san" \
		"subjectKeyIdentifier=hash" \
		"authorityKeyIdentifier=keyid" >"$ext"
	if [ ! -s "$dir/key.pem" ]; then
		(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
			-out "$dir/key.pem" 2>/dev/null) || die "cannot make a key in '$dir'"
	fi
	# 825 days: the longest validity Apple's clients accept for a server
	# certificate from a private CA.
	openssl req -new -key "$dir/key.pem" -subj "/CN=${cn%%.*}" 2>/dev/null |
		openssl x509 -req -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
			-set_serial "0x$(openssl rand -hex 16)" -days 825 -sha256 \
			-extfile "$ext" -out "$dir/cert.pem.new" 2>/dev/null ||
		die "cannot issue the server certificate in '$dir'"
	chmod 0644 "$dir/cert.pem.new"
	mv -f "$dir/cert.pem.new" "$dir/cert.pem"
	printf '%s\n' "$@" >"$dir/cert.names"
}

cmd_cert() {
	[ $# -ge 1 ] || usage
	local dir=$1
	shift
	mkdir -p "$dir" || die "cannot create '$dir'"
	local names
	mapfile -t names < <(host_names "$@" | awk '!seen[$0]++')

	if [ ! -s "$dir/ca.pem" ] || [ ! -s "$dir/ca.key" ]; then
		make_ca "$dir" "${names[@]}"
		rm -f "$dir/cert.pem"
	fi
	local want have=""
	want=$(printf '%s\n' "${names[@]}")
	[ -f "$dir/cert.names" ] && have=$(cat "$dir/cert.names")
	if [ -s "$dir/cert.pem" ] && [ -s "$dir/key.pem" ] && [ "$want" = "$have" ] &&
		openssl x509 -in "$dir/cert.pem" -noout -checkend $((30 * 86400)) >/dev/null 2>&1 &&
		openssl verify -CAfile "$dir/ca.pem" "$dir/cert.pem" >/dev/null 2>&1; then
		return 0
	fi
	issue_cert "$dir" "${names[@]}"
	# The CA's name constraints were fixed when it was made: names beyond
	# them need a new CA (and the browser to trust the new ca.pem).
	if ! openssl verify -CAfile "$dir/ca.pem" "$dir/cert.pem" >/dev/null 2>&1; then
		echo "$prog: the host's names changed beyond what the CA may certify" >&2
		make_ca "$dir" "${names[@]}"
		issue_cert "$dir" "${names[@]}"
		openssl verify -CAfile "$dir/ca.pem" "$dir/cert.pem" >/dev/null 2>&1 ||
			die "the new certificate in '$dir' does not verify"
	fi
	echo "$prog: server certificate '$dir/cert.pem' for: ${names[*]}" >&2
}

# ------------------------------------------------------------------ password

cmd_password() {
	[ $# -ge 1 ] || usage
	local file=$1 user=vigil new=0 from_stdin=0 save="" group=""
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--user) user=${2:?}; shift 2 ;;
		--new) new=1; shift ;;
		--stdin) from_stdin=1; shift ;;
		--save) save=${2:?}; shift 2 ;;
		--group) group=${2:?}; shift 2 ;;
		*) usage ;;
		esac
	done
	case $user in *:* | "" | *[[:space:]]*) die "bad user name '$user'" ;; esac
	if [ -s "$file" ] && [ $new -eq 0 ]; then
		return 0
	fi
	local pw
	if [ $from_stdin -eq 1 ]; then
		IFS= read -r pw || true
		[ ${#pw} -ge 8 ] || die "a password needs at least 8 characters"
	else
		# base64url without padding: no shell or URL metacharacters.
		pw=$(openssl rand -base64 18 | tr '+/' '-_')
	fi
	local hash
	# The password goes through a pipe, never through argv (ps would show it).
	hash=$(printf '%s\n' "$pw" | openssl passwd -6 -stdin) || die "openssl passwd failed"
	local tmp
	tmp=$(mktemp "$file.XXXXXX") || die "cannot write next to '$file'"
	printf '%s:%s\n' "$user" "$hash" >"$tmp"
	if [ -n "$group" ]; then
		chgrp "$group" "$tmp" && chmod 0640 "$tmp" || { rm -f "$tmp"; die "cannot give '$file' to group '$group'"; }
	else
		chmod 0600 "$tmp"
	fi
	mv -f "$tmp" "$file"
	if [ -n "$save" ]; then
		(umask 077 && printf '%s\n' "$pw" >"$save.new" && mv -f "$save.new" "$save") ||
			die "cannot save the password in '$save'"
	fi
	if [ $from_stdin -eq 0 ]; then
		echo "user: $user  password: $pw"
	fi
}

case ${1:-} in
cert) shift; cmd_cert "$@" ;;
password) shift; cmd_password "$@" ;;
*) usage ;;
esac
