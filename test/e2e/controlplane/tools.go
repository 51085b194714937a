//go:build tools

// Package tools pins the Kubernetes commands built from this module so that
// `go mod tidy` keeps their dependency graph in go.sum. It is never compiled
// (the "tools" build tag is never set); scripts/build-controlplane.sh builds
// the commands with `go build k8s.io/kubernetes/cmd/<name>`. The e2e suite
// uses kube-apiserver and kube-controller-manager; the real-cluster harness
// (test/cluster) uses all of them, from this one build.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
