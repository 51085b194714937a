//go:build tools

// Package tools pins Knative Serving's commands in go.mod so scripts/cluster/build-knative.sh builds
// upstream's own commands at the version required here. knative.dev/networking and knative.dev/caching
// are imported for their config/ folders (the KIngress, Certificate, ServerlessService and Image CRDs,
// config-network), which serving's own config/ only links to (links a module zip drops).
package tools

import (
	_ "knative.dev/caching/config"
	_ "knative.dev/networking/config"
	_ "knative.dev/serving/cmd/activator"
	_ "knative.dev/serving/cmd/autoscaler"
	_ "knative.dev/serving/cmd/controller"
	_ "knative.dev/serving/cmd/queue"
	_ "knative.dev/serving/cmd/webhook"
	_ "knative.dev/serving/config/core"
)
