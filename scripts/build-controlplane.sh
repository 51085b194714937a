#!/usr/bin/env bash
# Builds Kubernetes (apiserver, controller-manager, scheduler, kubelet, kube-proxy, kubectl) and etcd from Go modules; ~10 min cold on 2 cores, <1 s cached.
#
# One build from the Go module in test/e2e/controlplane (only `go` and the Go
# module proxy needed), shared by the e2e suite (apiserver, etcd,
# controller-manager) and the real-cluster harness (all of them).
#
# Output: .cache/controlplane/<k8s-version>/{kube-apiserver,kube-controller-manager,
#         kube-scheduler,kubelet,kube-proxy,kubectl,etcd}
# The build is skipped when every binary exists and was built from the same
# inputs (go.mod, go.sum, cmd/ sources, this script, go version).
#
# Progress goes to stderr. The last line on stdout is the output directory, so
# callers can do: dir="$(scripts/build-controlplane.sh)".
#
# Env:
#   CONTROLPLANE_CACHE_DIR  override the cache root (default <repo>/.cache/controlplane)
#   CONTROLPLANE_FORCE=1    rebuild even if the binaries are up to date
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module_dir="$repo_root/test/e2e/controlplane"
cache_root="${CONTROLPLANE_CACHE_DIR:-$repo_root/.cache/controlplane}"

log() { printf '[build-controlplane] %s\n' "$*" >&2; }

command -v go >/dev/null 2>&1 || { log "error: 'go' not found in PATH"; exit 1; }

# The kubernetes version is the single source of truth in go.mod.
k8s_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$module_dir/go.mod")"
if [[ -z "$k8s_version" ]]; then
  log "error: could not read the k8s.io/kubernetes version from $module_dir/go.mod"
  exit 1
fi
etcd_version="$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2; exit }' "$module_dir/go.mod")"

out_dir="$cache_root/$k8s_version"
mkdir -p "$out_dir"

# Fingerprint of everything that affects the binaries; a version bump already
# changes out_dir, this also catches edits to go.sum / cmd / flags.
stamp="$(
  {
    go env GOVERSION GOOS GOARCH
    cat "$module_dir/go.mod" "$module_dir/go.sum" "${BASH_SOURCE[0]}"
    find "$module_dir/cmd" -type f -name '*.go' -print0 | sort -z | xargs -0 cat
  } | sha256sum | cut -d' ' -f1
)"

k8s_commands=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

all_built() {
  local name
  for name in "${k8s_commands[@]}" etcd; do [[ -x "$out_dir/$name" ]] || return 1; done
}

up_to_date() {
  all_built && [[ -f "$out_dir/.stamp" ]] &&
    [[ "$(cat "$out_dir/.stamp")" == "$stamp" ]] &&
    [[ "${CONTROLPLANE_FORCE:-0}" != "1" ]]
}

start_s=$SECONDS

if up_to_date; then
  log "kubernetes $k8s_version + etcd $etcd_version already built in $out_dir (skipped, $((SECONDS - start_s))s)"
  echo "$out_dir"
  exit 0
fi

# Serialize concurrent builds (e.g. several jest workers) on the same cache dir.
exec 9>"$out_dir/.lock"
if ! flock -n 9; then
  log "another build is running, waiting for it..."
  flock 9
  if up_to_date; then
    log "built by the other process in the meantime ($((SECONDS - start_s))s)"
    echo "$out_dir"
    exit 0
  fi
fi

# Prints a heartbeat so a long first build doesn't look hung.
heartbeat() {
  local what="$1" t0=$SECONDS
  while sleep 30; do log "  ... still building $what ($((SECONDS - t0))s)"; done
}

# build <label> <ldflags> <package>...: one `go build` for several commands, so
# the packages they share compile once. Binaries go to a temp dir and are
# renamed into place, so a killed build never leaves a truncated binary.
build() {
  local label="$1" ldflags="$2"
  shift 2
  local t0=$SECONDS hb_pid tmp="$out_dir/.tmp-build" pkg
  log "building $label..."
  rm -rf "$tmp" && mkdir -p "$tmp"
  heartbeat "$label" &
  hb_pid=$!
  if ! (cd "$module_dir" && go build -trimpath -ldflags="-s -w $ldflags" -o "$tmp/" "$@"); then
    kill "$hb_pid" 2>/dev/null || true
    wait "$hb_pid" 2>/dev/null || true
    rm -rf "$tmp"
    log "error: building $label failed"
    exit 1
  fi
  kill "$hb_pid" 2>/dev/null || true
  wait "$hb_pid" 2>/dev/null || true
  for pkg in "$@"; do mv -f "$tmp/$(basename "$pkg")" "$out_dir/"; done
  rm -rf "$tmp"
  log "built $label in $((SECONDS - t0))s"
}

# Static, cgo-free binaries (as upstream releases them): no C toolchain needed.
export CGO_ENABLED=0
# go.sum is committed, so readonly is enough; -mod=mod is not needed.
export GOFLAGS="${GOFLAGS:-} -mod=readonly"

rm -f "$out_dir/.stamp"
log "go $(go env GOVERSION), kubernetes $k8s_version, etcd $etcd_version -> $out_dir"
log "downloading modules (first run only)..."
t0=$SECONDS
(cd "$module_dir" && go mod download)
log "modules ready in $((SECONDS - t0))s"

# Stamp the version the apiserver reports on /version (otherwise v0.0.0-master).
minor="${k8s_version#v1.}"
minor="${minor%%.*}"
vpkg="k8s.io/component-base/version"
version_ldflags="-X $vpkg.gitVersion=$k8s_version -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean"
build "etcd $etcd_version" "" ./cmd/etcd
pkgs=()
for name in "${k8s_commands[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$name"); done
build "kubernetes $k8s_version (${k8s_commands[*]})" "$version_ldflags" "${pkgs[@]}"

echo "$stamp" >"$out_dir/.stamp"
log "done in $((SECONDS - start_s))s"
echo "$out_dir"
