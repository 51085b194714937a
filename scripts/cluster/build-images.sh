#!/usr/bin/env bash
# Makes the harness's local images as archives: pause, the two stub NSM images, an app image, the Node.js base image; ~40 s cold, <1 s cached.
#
#   dev.local/pause:1                                  the pod sandbox process (test/cluster/images/cmd/pause)
#   ghcr.io/networkservicemesh/cmd-nsc-init:v1.18.0    stub: prints its env and mounts, exits 0
#   ghcr.io/networkservicemesh/cmd-nsc:v1.18.0         stub: prints its env and mounts, waits for SIGTERM
#   dev.local/app:1                                    the suite's app container: the same program, which
#                                                      waits (default) or exits 0 (args: ["init"])
#   dev.local/node:<.node-version>                     the Dockerfile's NODE_IMAGE here (below)
#
# The stubs carry exactly the names the config (manifests/base/config.yaml) injects, so the kubelet
# starts them without a registry. The Node.js base image is the same Node.js binary and npm that
# scripts/setup-node.sh installs from the npm registry, in /usr/local like the official node images,
# plus from this (Debian) host: the shared libraries node links (glibc, libstdc++), /bin/sh (dash),
# chmod and /usr/bin/env (npm's shebang) for the Dockerfile's RUN lines and npm scripts, a
# passwd/group file, and the host's CA bundle, which npm is told to trust (npm's global npmrc,
# `cafile`), because this machine reaches the npm registry through a TLS-intercepting egress proxy
# whose CA Node.js doesn't ship. Nothing else: no package manager, no apt.
# Output: .cache/cluster/images/<inputs digest>/*.tar; stdout's last line is
# that folder, holding images.tsv ("name<TAB>archive" per line).
set -euo pipefail
# shellcheck disable=SC2034 # read by lib/build.sh's log
LOG_TAG="build-images"
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=lib/build.sh
source "$here/lib/build.sh"
# shellcheck source=lib/image.sh
source "$here/lib/image.sh"
command -v go >/dev/null 2>&1 || die "'go' not found in PATH"

module="$CLUSTER_REPO_ROOT/test/cluster/images"
node_bin="$("$CLUSTER_REPO_ROOT/scripts/setup-node.sh")"
node_version="$("$node_bin/node" --version)"
node_version="${node_version#v}"
ca_bundle=/etc/ssl/certs/ca-certificates.crt
libs_version="$(dpkg-query -W -f='${Version}' libc6 libstdc++6 dash coreutils 2>/dev/null || true)"
key="$( { stamp "$module" "$0" "$here/lib/image.sh" "$here/lib/build.sh" "$ca_bundle"; echo "$node_bin $node_version $libs_version"; } | sha256sum | cut -c1-16)"
out="$CLUSTER_CACHE/images/$key"
archives=(pause.tar cmd-nsc-init.tar cmd-nsc.tar app.tar node.tar images.tsv)

if up_to_date "$out" "$key" "${archives[@]}"; then
  log "images already made in $out (skipped)"
  echo "$out"
  exit 0
fi
lock_dir "$out"
if up_to_date "$out" "$key" "${archives[@]}"; then echo "$out"; exit 0; fi
t0=$SECONDS
rm -f "$out/.stamp"
work="$out/.work"
rm -rf "$work" && mkdir -p "$work/bin"

log "building pause and nsm-stub (Go, static)..."
go_build_into "$work/bin" "$module" "" ./cmd/pause ./cmd/nsm-stub || die "go build failed"

root="$work/pause" && install -D -m 0755 "$work/bin/pause" "$root/pause"
image_archive dev.local/pause:1 "$root" "$out/pause.tar" '{"Entrypoint":["/pause"],"User":"65535:65535"}'

for stub in cmd-nsc-init:init cmd-nsc:sidecar; do
  name="${stub%%:*}" mode="${stub##*:}"
  root="$work/$name" && install -D -m 0755 "$work/bin/nsm-stub" "$root/nsm-stub"
  image_archive "ghcr.io/networkservicemesh/$name:v1.18.0" "$root" "$out/$name.tar" \
    "{\"Entrypoint\":[\"/nsm-stub\",\"$mode\"],\"Env\":[\"NSM_STUB_NAME=$name\"]}"
done
root="$work/app" && install -D -m 0755 "$work/bin/nsm-stub" "$root/nsm-stub"
image_archive dev.local/app:1 "$root" "$out/app.tar" \
  '{"Entrypoint":["/nsm-stub"],"Cmd":["sidecar"],"Env":["NSM_STUB_NAME=app"],"User":"65532:65532"}'

log "making dev.local/node:$node_version from $node_bin and this host's libraries..."
root="$work/node"
mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules" "$root/usr/local/etc" "$root/etc/ssl/certs" "$root/bin"
install -d -m 1777 "$root/tmp"
cp -a "$node_bin/../lib/node_modules/npm" "$root/usr/local/lib/node_modules/npm"
copy_with_libs "$root" "$(readlink -f "$node_bin/node")" /bin/dash /bin/chmod /usr/bin/env
mv "$root$(readlink -f "$node_bin/node")" "$root/usr/local/bin/node"
find "$root" -depth -type d -empty -not -path "$root/tmp" -delete
mkdir -p "$root/usr/local/lib/node_modules" "$root/etc/ssl/certs" "$root/usr/local/etc"
ln -s dash "$root/bin/sh"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
cp "$ca_bundle" "$root/etc/ssl/certs/ca-certificates.crt"
printf 'cafile=/etc/ssl/certs/ca-certificates.crt\nupdate-notifier=false\nfund=false\naudit=false\n' >"$root/usr/local/etc/npmrc"
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\nnonroot:x:65532:65532::/home/nonroot:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\nnonroot:x:65532:\n' >"$root/etc/group"
image_archive "dev.local/node:$node_version" "$root" "$out/node.tar" \
  "{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"NODE_VERSION=$node_version\"],\"Cmd\":[\"node\"]}"

{
  printf 'dev.local/pause:1\tpause.tar\n'
  printf 'ghcr.io/networkservicemesh/cmd-nsc-init:v1.18.0\tcmd-nsc-init.tar\n'
  printf 'ghcr.io/networkservicemesh/cmd-nsc:v1.18.0\tcmd-nsc.tar\n'
  printf 'dev.local/app:1\tapp.tar\n'
  printf 'dev.local/node:%s\tnode.tar\n' "$node_version"
} >"$out/images.tsv"
rm -rf "$work"
echo "$key" >"$out/.stamp"
figure "build: local images (pause, stubs, app, Node.js base)" $((SECONDS - t0)) s
log "made $(wc -l <"$out/images.tsv") images in $((SECONDS - t0))s: $(du -sh "$out" | cut -f1) ($(du -h "$out/node.tar" | cut -f1) node base)"
echo "$out"
