// Command etcd is the stock etcd server (same flags as the upstream binary),
// built from the go.etcd.io/etcd/server/v3 version that k8s.io/kubernetes
// itself requires, so both binaries share one module graph.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
