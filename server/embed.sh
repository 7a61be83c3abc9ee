#!/bin/sh
# SPDX-License-Identifier: MIT
# Compiles the page files of www/ into vigil-server: writes a C table
# (server/www.h) of every file with its content type, the first 8 hex digits
# of its SHA-256 and its URL: /index.html for the page, /static/NAME.HASH.EXT
# for the rest (served as immutable).  In index.html, {{static:NAME}} is
# replaced by NAME's versioned URL; an unknown NAME fails the build.
# JavaScript files are ES modules: each `import ... from './NAME'` (and
# `export ... from`, `import './NAME'`) is rewritten to NAME's versioned
# name ('./NAME.HASH.js') and the file hashed after that, so a changed
# module changes the URL of every module that imports it.  Only './NAME'
# specifiers of files of www/ are accepted, and no import cycle (each URL
# needs the ones it imports).
# www/package.json (which tells node that these files are modules) is not
# served.
# Usage: embed.sh WWW_DIR OUTPUT.c
set -eu

www=$1
out=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

content_type() {
	case $1 in
	*.html) echo "text/html; charset=utf-8" ;;
	*.js | *.mjs) echo "text/javascript; charset=utf-8" ;;
	*.css) echo "text/css; charset=utf-8" ;;
	*.svg) echo "image/svg+xml" ;;
	*.png) echo "image/png" ;;
	*.jpg | *.jpeg) echo "image/jpeg" ;;
	*.ico) echo "image/x-icon" ;;
	*.webp) echo "image/webp" ;;
	*.json) echo "application/json" ;;
	*.webmanifest) echo "application/manifest+json" ;;
	*.woff2) echo "font/woff2" ;;
	*.txt) echo "text/plain; charset=utf-8" ;;
	*) echo "application/octet-stream" ;;
	esac
}

# The './NAME' specifiers of a module's imports, one a line.
imports_of() {
	grep -oE "(^|[^A-Za-z0-9_\$.])(from|import)[[:space:]]*['\"][^'\"]*['\"]" "$1" |
		sed -E "s/^.*(from|import)[[:space:]]*['\"]//; s/['\"]\$//" || true
}

is_module() {
	case $1 in *.js | *.mjs) return 0 ;; *) return 1 ;; esac
}

# name -> versioned URL, for every file but index.html; a module after the
# modules it imports.  $tmp/out/NAME holds a module as rewritten.
: >"$tmp/map"
mkdir -p "$tmp/out"
if [ -d "$www" ]; then
	(cd "$www" && find . -type f ! -name '.*' ! -name '*~' ! -path ./package.json |
		sed 's|^\./||' | LC_ALL=C sort) >"$tmp/files"
else
	: >"$tmp/files"
fi
grep -vx index.html "$tmp/files" >"$tmp/todo" || true
while [ -s "$tmp/todo" ]; do
	: >"$tmp/later"
	while IFS= read -r name; do
		src=$www/$name
		if is_module "$name"; then
			dir=$(dirname "$name")
			ready=1
			for spec in $(imports_of "$src"); do
				case $spec in
				./*[!/]) ;;
				*)
					echo "embed.sh: $name imports '$spec': only './NAME' of www/ files" >&2
					exit 1
					;;
				esac
				dep=${spec#./}
				[ "$dir" = . ] || dep=$dir/$dep
				if ! grep -qxF "$dep" "$tmp/files"; then
					echo "embed.sh: $name imports '$spec', not in www/" >&2
					exit 1
				fi
				awk -F '\t' -v n="$dep" '$1 == n { f = 1 } END { exit !f }' "$tmp/map" || ready=0
			done
			if [ $ready = 0 ]; then
				echo "$name" >>"$tmp/later"
				continue
			fi
			mkdir -p "$tmp/out/$dir"
			awk -v mapfile="$tmp/map" -v dir="$dir" '
			BEGIN {
				while ((getline line < mapfile) > 0) {
					split(line, f, "\t")
					url[f[1]] = f[2]
				}
				re = "(from|import)[ \t]*[\047\"]\\./[^\047\"]+[\047\"]"
				prefix = dir == "." ? "/static/" : "/static/" dir "/"
			}
			{
				s = $0
				out = ""
				while (match(s, re)) {
					m = substr(s, RSTART, RLENGTH)
					q = index(m, "./")
					name = substr(m, q + 2, length(m) - q - 2)
					if (dir != ".")
						name = dir "/" name
					# Relative to the importer (/static/DIR/): the page
					# keeps working under a sub-path of a proxy.
					rel = "./" substr(url[name], length(prefix) + 1)
					out = out substr(s, 1, RSTART - 1) substr(m, 1, q - 1) rel substr(m, length(m))
					s = substr(s, RSTART + RLENGTH)
				}
				print out s
			}' "$src" >"$tmp/out/$name"
			src=$tmp/out/$name
		fi
		hash=$(sha256sum "$src" | cut -c1-8)
		case $name in
		*/*.* | [!/]*.*)
			base=${name%.*}
			ext=${name##*.}
			url="/static/$base.$hash.$ext"
			;;
		*) url="/static/$name.$hash" ;;
		esac
		printf '%s\t%s\t%s\n' "$name" "$url" "$hash" >>"$tmp/map"
	done <"$tmp/todo"
	if cmp -s "$tmp/todo" "$tmp/later"; then
		echo "embed.sh: import cycle among: $(tr '\n' ' ' <"$tmp/later")" >&2
		exit 1
	fi
	mv "$tmp/later" "$tmp/todo"
done

# index.html with {{static:NAME}} replaced (plain string replacement).
if grep -qx index.html "$tmp/files"; then
	awk -v mapfile="$tmp/map" '
	BEGIN {
		FS = "\t"
		while ((getline line < mapfile) > 0) {
			split(line, f, "\t")
			url[f[1]] = f[2]
		}
		bad = 0
	}
	{
		s = $0
		out = ""
		while ((i = index(s, "{{static:")) > 0) {
			rest = substr(s, i + 9)
			j = index(rest, "}}")
			if (j == 0)
				break
			name = substr(rest, 1, j - 1)
			if (!(name in url)) {
				printf "embed.sh: index.html refers to {{static:%s}}, not in www/\n", name > "/dev/stderr"
				bad = 1
				out = out substr(s, 1, i + 8)
				s = rest
				continue
			}
			out = out substr(s, 1, i - 1) url[name]
			s = substr(rest, j + 2)
		}
		print out s
	}
	END { if (bad) exit 1 }' "$www/index.html" >"$tmp/index.html"
fi

dump() { # file -> C initializer bytes
	od -An -v -tx1 "$1" | awk '{ for (i = 1; i <= NF; i++) printf "0x%s,", $i; printf "\n" }'
}

{
	echo "/* Generated by server/embed.sh from $www/: do not edit. */"
	echo '#include "www.h"'
	echo
	n=0
	while IFS= read -r name; do
		if [ "$name" = index.html ]; then
			src=$tmp/index.html
		elif [ -f "$tmp/out/$name" ]; then
			src=$tmp/out/$name
		else
			src=$www/$name
		fi
		echo "static const unsigned char www_data_${n}[] = {"
		dump "$src"
		echo "0};"
		n=$((n + 1))
	done <"$tmp/files"
	echo
	echo "const struct www_file www_files[] = {"
	n=0
	while IFS= read -r name; do
		if [ "$name" = index.html ]; then
			src=$tmp/index.html
			url=/index.html
			hash=$(sha256sum "$src" | cut -c1-8)
		else
			src=$www/$name
			[ -f "$tmp/out/$name" ] && src=$tmp/out/$name
			url=$(awk -F '\t' -v n="$name" '$1 == n { print $2 }' "$tmp/map")
			hash=$(awk -F '\t' -v n="$name" '$1 == n { print $3 }' "$tmp/map")
		fi
		len=$(wc -c <"$src" | tr -d ' ')
		printf '\t{"%s", "%s", "%s", "%s", www_data_%d, %s},\n' \
			"$name" "$url" "$(content_type "$name")" "$hash" "$n" "$len"
		n=$((n + 1))
	done <"$tmp/files"
	echo '	{0, 0, 0, 0, 0, 0},'
	echo "};"
	echo "const size_t www_file_count = $n;"
} >"$out.tmp"
mv "$out.tmp" "$out"
