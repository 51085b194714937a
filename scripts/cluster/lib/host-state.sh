# What the cluster may change on the host, captured before `up` and compared after `down` (sourced).
# `down` fails when anything differs, so a teardown that leaks a rule, link, mount, sysctl or folder
# is seen at once instead of breaking the next run or another user of the machine.
# shellcheck shell=bash

# The kernel settings the cluster's parts write: the harness itself (forwarding, bridge netfilter),
# the kubelet (its kernel tunables, protectKernelDefaults: false) and kube-proxy (route_localnet,
# conntrack). `down` writes back the value each had before `up`.
HOST_SYSCTLS=(
  net.ipv4.ip_forward
  net.bridge.bridge-nf-call-iptables
  net.bridge.bridge-nf-call-ip6tables
  net.ipv4.conf.all.route_localnet
  net.netfilter.nf_conntrack_max
  net.netfilter.nf_conntrack_tcp_timeout_established
  net.netfilter.nf_conntrack_tcp_timeout_close_wait
  vm.overcommit_memory
  vm.panic_on_oom
  kernel.panic
  kernel.panic_on_oops
  kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes
)
# Folders the parts create at fixed places when they are missing (containerd's shim sockets and the
# CNI cache, network namespaces, dockerd's run and config folders and the trust key dockerd 20.10
# writes into /etc/docker). `down` removes those `up` didn't find, plus CLUSTER_NSM_HOST_DIRS.
HOST_PATHS=(/run/containerd /var/lib/cni /var/run/netns /run/docker /etc/docker /etc/docker/key.json /run/runc)

# host_iptables iptables|ip6tables: every chain and rule as "<command> <table>: <line>", without
# packet counters or the generated-at comments.
host_iptables() {
  "$1-save" 2>/dev/null | awk -v cmd="$1" '
    /^#/ || /^COMMIT/ { next }
    /^\*/ { table = substr($0, 2); print cmd " " table ": *" table; next }
    { gsub(/ \[[0-9]+:[0-9]+\]/, ""); print cmd " " table ": " $0 }'
}

# host_iptables_remove_new SNAPSHOT_FILE: deletes every rule, then every chain, that the snapshot did
# not have (the harness's, kube-proxy's leftovers, the kubelet's KUBE-FIREWALL and canary chains),
# then the tables that were created and are empty again (iptables-nft keeps a table once used), so
# that iptables-save reads exactly as before.
host_iptables_remove_new() {
  local cmd line table rest chain
  for cmd in iptables ip6tables; do
    while IFS= read -r line; do
      grep -qxF "$line" "$1" && continue
      table="${line#"$cmd "}" && table="${table%%:*}"
      rest="${line#*: }"
      [[ "$rest" == "-A "* ]] && eval "$cmd -t $table -D ${rest#-A }" 2>/dev/null
    done < <(host_iptables "$cmd")
    for pass in flush delete; do
      while IFS= read -r line; do
        grep -qxF "$line" "$1" && continue
        table="${line#"$cmd "}" && table="${table%%:*}"
        rest="${line#*: }"
        [[ "$rest" == :* ]] || continue
        chain="${rest#:}" && chain="${chain%% *}"
        [[ "$rest" == *" - " || "$rest" == *" -" ]] || continue # built-in chains stay
        if [[ $pass == flush ]]; then $cmd -t "$table" -F "$chain" 2>/dev/null; else $cmd -t "$table" -X "$chain" 2>/dev/null; fi
      done < <(host_iptables "$cmd")
    done
    command -v nft >/dev/null 2>&1 || continue
    while IFS= read -r line; do
      grep -qxF "$line" "$1" && continue
      table="${line##*\*}"
      if ! host_iptables "$cmd" | grep -E "^$cmd $table: (-A |:[^ ]+ -)" >/dev/null; then
        nft delete table "$([[ $cmd == iptables ]] && echo ip || echo ip6)" "$table" 2>/dev/null || true
      fi
    done < <(host_iptables "$cmd" | grep -E "^$cmd [a-z]+: \*")
  done
}

# host_snapshot: the comparable state, on stdout, one "section: line" per line.
host_snapshot() {
  local s t
  host_iptables iptables
  host_iptables ip6tables
  ip -o link show | awk '{ sub(/@.*/, "", $2); print "link: " $2 }' | sort
  ip -o addr show | awk '{ print "addr: " $2, $3, $4 }' | sort
  ip route show table all 2>/dev/null | sed 's/^/route: /' | sort
  findmnt -rn -o TARGET,FSTYPE | sort | sed 's/^/mount: /'
  for s in "${HOST_SYSCTLS[@]}"; do printf 'sysctl: %s = %s\n' "$s" "$(sysctl -n "$s" 2>/dev/null || echo absent)"; done
  for t in $(host_paths); do [[ -e "$t" ]] && printf 'path: %s\n' "$t"; done
  for t in /sys/fs/cgroup/*/"$CLUSTER_CGROUP"; do [[ -d "$t" ]] && printf 'cgroup: %s\n' "$t"; done
  true
}

# host_restore_sysctls SNAPSHOT_FILE: writes back every sysctl the snapshot recorded.
host_restore_sysctls() {
  local name value
  while IFS= read -r line; do
    name="${line#sysctl: }" && name="${name%% = *}"
    value="${line##* = }"
    [[ "$value" == absent ]] && continue
    [[ "$(sysctl -n "$name" 2>/dev/null)" == "$value" ]] || sysctl -qw "$name=$value" >/dev/null 2>&1 || true
  done < <(grep '^sysctl: ' "$1")
}

# host_paths: HOST_PATHS, the NSM host folders and their parents, children before parents.
host_paths() {
  local p
  { printf '%s\n' "${HOST_PATHS[@]}"; for p in $CLUSTER_NSM_HOST_DIRS; do echo "$p"; dirname "$p"; done; } | sort -ru
}

# host_remove_new_paths SNAPSHOT_FILE: removes the host_paths that the snapshot did not have; network
# namespaces still mounted in /var/run/netns are unmounted first.
host_remove_new_paths() {
  local p ns
  for p in $(host_paths); do
    grep -qxF "path: $p" "$1" && continue
    [[ -e "$p" ]] || continue
    if [[ "$p" == /var/run/netns ]]; then
      for ns in "$p"/*; do [[ -e "$ns" ]] && umount "$ns" 2>/dev/null; done
    fi
    rm -rf "$p"
  done
}
