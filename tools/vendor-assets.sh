#!/usr/bin/env bash
# Re-fetch the vendored front-end files of the admin dashboard (and the
# axe-core copy used by the accessibility tests) from the npm registry, at
# exactly the pinned versions below, and print their sha256 sums.
#
# This is a maintainer tool: it is never run by the build or the tests, and
# the files it writes are committed to the repository. Compare the printed
# sums with portal-templates/admin/vendor/VENDORED.md and
# tests/vendor/VENDORED.md.
#
# Usage:
#   tools/vendor-assets.sh           fetch and overwrite the vendored files
#   tools/vendor-assets.sh --check   fetch into a temp dir only; compare with
#                                    the files in the tree (exit 1 on any
#                                    difference), write nothing
#
# Needs: bash, npm, tar, sha256sum (or shasum), network access to the
# registry that npm is configured for.
#
# To upgrade a package: change its version below, run this script, check
# the CSP notes in VENDORED.md still hold, and update the version and sha256
# columns of the VENDORED.md tables.
set -euo pipefail

HTMX_VERSION=2.0.11          # npm htmx.org (stay on 2.x; 4.x is a new API)
UPLOT_VERSION=1.6.32         # npm uplot
SWAGGER_UI_VERSION=5.36.0    # npm swagger-ui-dist
AXE_CORE_VERSION=4.14.1      # npm axe-core

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
admin_vendor="$root/portal-templates/admin/vendor"
tests_vendor="$root/tests/vendor"

mode=write
case "${1:-}" in
    "") ;;
    --check) mode=check ;;
    -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
esac

if command -v sha256sum >/dev/null 2>&1; then
    sha256() { sha256sum "$1" | cut -d' ' -f1; }
else
    sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/portico-vendor.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# fetch <npm-package> <version>: downloads the tarball with `npm pack` (npm
# checks it against the registry's integrity hash) and unpacks it into
# $tmp/<npm-package>/package/.
fetch() {
    local pkg="$1" version="$2" tgz
    mkdir -p "$tmp/$pkg"
    tgz="$(cd "$tmp/$pkg" && npm pack --silent --ignore-scripts "$pkg@$version" | tail -n 1)"
    tar -xzf "$tmp/$pkg/$tgz" -C "$tmp/$pkg"
    local got
    got="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$tmp/$pkg/package/package.json" | head -n 1)"
    if [ "$got" != "$version" ]; then
        echo "$pkg: asked for $version, tarball says $got" >&2
        exit 1
    fi
    echo "fetched $pkg@$version" >&2
}

fetch htmx.org "$HTMX_VERSION"
fetch uplot "$UPLOT_VERSION"
fetch swagger-ui-dist "$SWAGGER_UI_VERSION"
fetch axe-core "$AXE_CORE_VERSION"

# source (relative to $tmp) -> destination (absolute)
pairs=(
    "htmx.org/package/dist/htmx.min.js"                        "$admin_vendor/htmx.min.js"
    "htmx.org/package/LICENSE"                                 "$admin_vendor/htmx.LICENSE"
    "uplot/package/dist/uPlot.iife.min.js"                     "$admin_vendor/uPlot.iife.min.js"
    "uplot/package/dist/uPlot.min.css"                         "$admin_vendor/uPlot.min.css"
    "uplot/package/LICENSE"                                    "$admin_vendor/uPlot.LICENSE"
    "swagger-ui-dist/package/swagger-ui-bundle.js"             "$admin_vendor/swagger-ui-bundle.js"
    "swagger-ui-dist/package/swagger-ui.css"                   "$admin_vendor/swagger-ui.css"
    "swagger-ui-dist/package/LICENSE"                          "$admin_vendor/swagger-ui.LICENSE"
    "swagger-ui-dist/package/NOTICE"                           "$admin_vendor/swagger-ui.NOTICE"
    "swagger-ui-dist/package/swagger-ui-bundle.js.LICENSE.txt" "$admin_vendor/swagger-ui-bundle.js.LICENSE.txt"
    "axe-core/package/axe.min.js"                              "$tests_vendor/axe.min.js"
    "axe-core/package/LICENSE"                                 "$tests_vendor/axe-core.LICENSE"
    "axe-core/package/LICENSE-3RD-PARTY.txt"                   "$tests_vendor/axe-core.LICENSE-3RD-PARTY.txt"
)

status=0
for ((i = 0; i < ${#pairs[@]}; i += 2)); do
    src="$tmp/${pairs[i]}"
    dst="${pairs[i + 1]}"
    sum="$(sha256 "$src")"
    size="$(wc -c <"$src" | tr -d ' ')"
    rel="${dst#"$root"/}"
    if [ "$mode" = check ]; then
        if [ -f "$dst" ] && cmp -s "$src" "$dst"; then
            note="same as tree"
        else
            note="DIFFERS from tree"
            status=1
        fi
        printf '%s  %s  (%s bytes, %s)\n' "$sum" "$rel" "$size" "$note"
    else
        mkdir -p "$(dirname "$dst")"
        cp "$src" "$dst"
        chmod 0644 "$dst"
        printf '%s  %s  (%s bytes)\n' "$sum" "$rel" "$size"
    fi
done
exit "$status"
