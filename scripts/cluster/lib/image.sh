# Shared by the harness's image scripts (sourced): makes a one-layer image archive by hand, in the
# `docker save` format (manifest.json + config + layer tar) that both `ctr images import` and
# `docker load` read. No registry and no builder are needed for images that are only files.
# shellcheck shell=bash

# image_archive NAME ROOTFS OUT CONFIG_JSON: writes OUT, an archive of image NAME whose single layer is
# the folder ROOTFS (owned by root, timestamps zeroed, so equal inputs give equal digests) and whose
# runtime config (Entrypoint, Cmd, Env, User, WorkingDir) is CONFIG_JSON.
image_archive() {
  local name="$1" rootfs="$2" out="$3" config="$4" tmp diff cfg
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/image-archive.XXXXXX")"
  tar -C "$rootfs" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$tmp/layer.tar" .
  diff="$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)"
  mkdir "$tmp/$diff" && mv "$tmp/layer.tar" "$tmp/$diff/layer.tar"
  printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$config" "$diff" >"$tmp/config.json"
  cfg="$(sha256sum "$tmp/config.json" | cut -d' ' -f1)"
  mv "$tmp/config.json" "$tmp/$cfg.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$cfg" "$name" "$diff" >"$tmp/manifest.json"
  tar -C "$tmp" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$out.tmp" manifest.json "$cfg.json" "$diff"
  mv -f "$out.tmp" "$out"
  rm -rf "$tmp"
}

# copy_with_libs ROOTFS BINARY...: copies each BINARY into ROOTFS at the same path, with every shared
# library `ldd` lists for it (and the dynamic loader), at their paths on this host.
copy_with_libs() {
  local rootfs="$1" bin lib
  shift
  for bin in "$@"; do
    install -D -m 0755 "$bin" "$rootfs$bin"
    for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
      [[ -e "$rootfs$lib" ]] || install -D -m 0755 "$(readlink -f "$lib")" "$rootfs$lib"
    done
  done
}

# binary_image NAME BINARY PATH OUT CONFIG_JSON: an image archive (image_archive) whose one layer holds
# BINARY alone, at PATH inside the image: the harness's images of static Go commands.
binary_image() {
  local name="$1" binary="$2" path="$3" out="$4" config="$5" root
  root="$(mktemp -d "${TMPDIR:-/tmp}/binary-image.XXXXXX")"
  # mktemp makes it 0700; the image's / must be traversable by its non-root user.
  chmod 0755 "$root"
  install -D -m 0755 "$binary" "$root$path"
  image_archive "$name" "$root" "$out" "$config"
  rm -rf "$root"
}
