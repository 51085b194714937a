// Command coredns is CoreDNS with the plugins a cluster DNS without an upstream needs: kubernetes
// (Services and pods), cache, errors, log, health and ready (the pod's probes), and reload. The plugin
// order is CoreDNS's own (its directives list), restricted to these.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

var kept = map[string]bool{
	"cache": true, "errors": true, "health": true, "kubernetes": true, "log": true, "ready": true, "reload": true,
}

func init() {
	directives := dnsserver.Directives[:0]
	for _, name := range dnsserver.Directives {
		if kept[name] {
			directives = append(directives, name)
		}
	}
	dnsserver.Directives = directives
}

func main() { coremain.Run() }
