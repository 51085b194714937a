//go:build tools

// Package tools pins Skaffold's command so that `go mod tidy` keeps its dependency graph in go.sum. It
// is never compiled; scripts/cluster/build-skaffold.sh runs `go build .../cmd/skaffold`.
package tools

import _ "github.com/GoogleContainerTools/skaffold/v2/cmd/skaffold"
