# Shared by the harness's build scripts (sourced, not run): logging, input stamps, one build at a time
# per output folder, a heartbeat during long builds, and cached `go build`s renamed into place.
# The pattern of scripts/build-controlplane.sh, for the harness's own Go modules under test/cluster/.
# shellcheck shell=bash

# The repository root, from this file's place (scripts/cluster/lib/).
CLUSTER_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
CLUSTER_CACHE="${CLUSTER_CACHE:-$CLUSTER_REPO_ROOT/.cache/cluster}"

# log TAG MESSAGE...: progress on stderr, so that stdout stays for a script's one-line answer.
log() { printf '[%s] %s\n' "${LOG_TAG:-cluster}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# stamp FILE...: a fingerprint of the Go toolchain and of every file (or every file under every folder) given.
stamp() {
  {
    go env GOVERSION GOOS GOARCH 2>/dev/null || true
    local f
    for f in "$@"; do
      if [[ -d "$f" ]]; then find "$f" -type f -print0 | sort -z | xargs -0 cat; else cat "$f"; fi
    done
  } | sha256sum | cut -d' ' -f1
}

# up_to_date DIR STAMP FILE...: DIR/.stamp holds STAMP and every FILE (relative to DIR) exists.
up_to_date() {
  local dir="$1" want="$2" f
  shift 2
  [[ -f "$dir/.stamp" && "$(cat "$dir/.stamp")" == "$want" ]] || return 1
  for f in "$@"; do [[ -e "$dir/$f" ]] || return 1; done
}

# lock_dir DIR: holds an exclusive lock on DIR/.lock (fd 9) until the script exits, so two runs never
# build into the same folder at once; the second one waits and then finds the first one's result.
lock_dir() {
  mkdir -p "$1"
  exec 9>"$1/.lock"
  if ! flock -n 9; then
    log "another build of $1 is running, waiting for it..."
    flock 9
  fi
}

# with_heartbeat LABEL CMD...: runs CMD, printing a line every 30 s so a long build doesn't look hung.
with_heartbeat() {
  local label="$1" t0=$SECONDS hb rc=0
  shift
  (while sleep 30; do log "  ... still $label ($((SECONDS - t0))s)"; done) &
  hb=$!
  "$@" || rc=$?
  kill "$hb" 2>/dev/null || true
  wait "$hb" 2>/dev/null || true
  return "$rc"
}

# go_build_into OUT_DIR MODULE_DIR LDFLAGS PACKAGE...: one static, trimmed `go build` of several
# commands (shared packages compile once) into a temp folder, then each binary renamed into OUT_DIR,
# so a killed build never leaves a truncated binary behind.
go_build_into() {
  local out="$1" module="$2" ldflags="$3" tmp pkg
  shift 3
  tmp="$out/.tmp-build"
  rm -rf "$tmp" && mkdir -p "$tmp"
  if ! (cd "$module" && CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly" \
    go build -trimpath -ldflags="-s -w $ldflags" -o "$tmp/" "$@"); then
    rm -rf "$tmp"
    return 1
  fi
  for pkg in "$@"; do mv -f "$tmp/$(basename "$pkg")" "$out/"; done
  rm -rf "$tmp"
}

# go_module_version MODULE_DIR MODULE_PATH: the version MODULE_DIR/go.mod requires of MODULE_PATH (a
# one-line `require`, or a line of a `require (...)` block).
go_module_version() {
  awk -v m="$2" '$1 == "require" && $2 == m { print $3 } $1 == m && $2 ~ /^v/ { print $2 }' "$1/go.mod" | head -1
}

# cached_module_build NAME MODULE_DIR MODULE_PATH BUILD_FN FILE...: what every build script of the
# harness does around its own steps. The output folder is $CLUSTER_CACHE/NAME/<the version MODULE_DIR's
# go.mod requires of MODULE_PATH>; when its stamp (the toolchain, the module, the calling script and
# this file) matches and every FILE (relative to it) exists, nothing is built. Otherwise, one build at
# a time: the modules downloaded, then `BUILD_FN OUT MODULE_DIR VERSION` makes the files, then the
# stamp is written and the time reported. The folder is stdout's last line.
cached_module_build() {
  local name="$1" module="$2" path="$3" build="$4" version out want t0=$SECONDS
  shift 4
  version="$(go_module_version "$module" "$path")"
  [[ -n "$version" ]] || die "no $path version in $module/go.mod"
  out="$CLUSTER_CACHE/$name/$version"
  want="$(stamp "$module" "${BASH_SOURCE[1]}" "${BASH_SOURCE[0]}")"
  if ! up_to_date "$out" "$want" "$@"; then
    lock_dir "$out"
    # Another run may have built it while this one waited for the lock.
    if ! up_to_date "$out" "$want" "$@"; then
      rm -f "$out/.stamp"
      log "go $(go env GOVERSION), $name $version -> $out"
      log "downloading modules (first run only)..."
      (cd "$module" && go mod download)
      "$build" "$out" "$module" "$version"
      echo "$want" >"$out/.stamp"
      log "built in $((SECONDS - t0))s"
      figure "build: $name (cold)" $((SECONDS - t0)) s
    fi
  else
    log "$name $version already built in $out (skipped)"
  fi
  echo "$out"
}

# figure NAME VALUE UNIT: a measured figure for docs/deploy.md, appended as a JSON line to
# $NSM_CLUSTER_FIGURES when set (scripts/cluster/test.sh sets it and prints them all at the end).
figure() {
  [[ -n "${NSM_CLUSTER_FIGURES:-}" ]] || return 0
  printf '{"name":"%s","value":%s,"unit":"%s"}\n' "$1" "$2" "$3" >>"$NSM_CLUSTER_FIGURES"
}
