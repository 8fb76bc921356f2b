#!/bin/bash
# SPDX-License-Identifier: MIT
# Builds the Debian package (debian/) and checks it with lintian.
# Usage: scripts/deb.sh [OUTDIR]   (default: build-deb/)
# Installs the build dependencies from Debian (scripts/deps.sh deb), copies the tree's files
# (tracked and untracked, not ignored: what a clean clone plus your edits would hold) to a
# scratch dir, runs `dpkg-buildpackage -us -uc -b` there and puts the .deb, .buildinfo and
# .changes into OUTDIR. Fails if lintian reports an error or a warning that debian/ does not
# override. Prints the .deb's path last.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
out=$(realpath -m "${1:-build-deb}")

scripts/deps.sh deb

# One version: meson.build's must be the one in debian/changelog.
meson_version=$(sed -n "s/^  version : '\(.*\)',$/\1/p" meson.build)
deb_version=$(dpkg-parsechangelog -S Version)
if [ "$meson_version" != "${deb_version%%-*}" ]; then
	echo "deb.sh: meson.build says $meson_version, debian/changelog $deb_version: add a changelog entry (dch -v)" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mptcpize-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
src=$work/mptcpize-$meson_version
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard | grep -zv '^debian/mptcpize-preload/' |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		cpio -0 -pdm --quiet "$src"
else # an unpacked tarball: everything but build trees
	tar -c --exclude='./build' --exclude='./build-*' --exclude='./obj-*' \
		--exclude='./debian/mptcpize-preload' . | tar -x -C "$src"
fi

echo "deb.sh: dpkg-buildpackage -us -uc -b in $src (log: $out/build.log)" >&2
mkdir -p "$out"
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 || {
	tail -n 40 "$out/build.log" >&2
	echo "deb.sh: dpkg-buildpackage failed (full log: $out/build.log)" >&2
	exit 1
}
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
changes=$work/mptcpize_${deb_version}_$arch.changes
for f in $(awk '/^Files:/ { on = 1; next } /^[^ ]/ { on = 0 } on { print $5 }' "$changes"); do
	cp "$work/$f" "$out/"
done
cp "$changes" "$out/"

# lintian: errors and warnings fail the build; the overrides in debian/ say why each kept tag is
# fine. --fail-on needs lintian >= 2.102 (bookworm has 2.116).
echo "deb.sh: lintian" >&2
if ! lintian --fail-on error,warning --display-info --info "$out/${changes##*/}" >"$out/lintian.log" 2>&1; then
	cat "$out/lintian.log" >&2
	echo "deb.sh: lintian failed" >&2
	exit 1
fi
sed 's/^/  /' "$out/lintian.log" >&2
deb=$(ls "$out"/mptcpize-preload_"${deb_version}"_"$arch".deb)
echo "deb.sh: built $(du -h "$deb" | cut -f1) $deb" >&2
echo "$deb"
