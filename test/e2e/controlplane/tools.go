//go:build tools

// Package tools pins the kube-apiserver command in this module so that
// `go mod tidy` keeps its dependency graph in go.sum. It is never compiled
// (the "tools" build tag is never set); scripts/build-controlplane.sh builds
// the command with `go build k8s.io/kubernetes/cmd/kube-apiserver`.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
