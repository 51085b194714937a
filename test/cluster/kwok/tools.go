//go:build tools

// Package tools pins sigs.k8s.io/kwok/cmd/kwok in go.mod so scripts/cluster/build-kwok.sh builds
// upstream's own command (`go build sigs.k8s.io/kwok/cmd/kwok`) at the version required here.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
