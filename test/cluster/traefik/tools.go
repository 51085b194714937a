//go:build tools

// Package tools pins github.com/traefik/traefik/v3/cmd/traefik in go.mod so
// scripts/cluster/build-traefik.sh builds upstream's own command at the version required here.
package tools

import _ "github.com/traefik/traefik/v3/cmd/traefik"
