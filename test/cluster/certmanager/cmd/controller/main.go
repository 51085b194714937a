// Command controller is cert-manager's controller for the real-cluster harness: the controllers a
// CA issuer chain needs (Issuers, ClusterIssuers, Certificates, CertificateRequests for the CA and
// SelfSigned issuers, and the approver), built from the root module github.com/cert-manager/cert-manager.
//
// Why a main of our own: upstream's cmd/controller is a separate Go module that the module proxy does
// not serve; its packages (pkg/controller/...) are in the root module, which it does serve. The
// controllers register themselves in init() functions, exactly as in upstream's binary; this file only
// imports the ones it runs and starts them the way upstream's app does (one ContextFactory, then the
// shared informers). Not included: ACME, Vault, Venafi, the ingress/gateway shims, leader election,
// the metrics and health servers. One replica runs, as the kube-system control plane processes do.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/klog/v2"

	"github.com/cert-manager/cert-manager/pkg/controller"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file")
	clusterResourceNamespace := flag.String("cluster-resource-namespace", "cert-manager",
		"namespace holding the Secrets of ClusterIssuers")
	workers := flag.Int("workers", 5, "workers per controller (upstream's default)")
	klog.InitFlags(nil)
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := klog.Background().WithName("cert-manager-controller")
	ctx = logf.NewContext(ctx, log)

	if err := run(ctx, *kubeconfig, *clusterResourceNamespace, *workers); err != nil {
		log.Error(err, "controller failed")
		os.Exit(1)
	}
}

func run(ctx context.Context, kubeconfig, clusterResourceNamespace string, workers int) error {
	log := logf.FromContext(ctx)
	factory, err := controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig:         kubeconfig,
		KubernetesAPIQPS:   20, // upstream's defaults
		KubernetesAPIBurst: 50,
		IssuerOptions:      controller.IssuerOptions{ClusterResourceNamespace: clusterResourceNamespace},
		ACMEOptions: controller.ACMEOptions{
			// Unused (no ACME controller runs) but parsed by shared code paths.
			HTTP01SolverResourceRequestCPU:    resource.MustParse("10m"),
			HTTP01SolverResourceRequestMemory: resource.MustParse("64Mi"),
			HTTP01SolverResourceLimitsCPU:     resource.MustParse("100m"),
			HTTP01SolverResourceLimitsMemory:  resource.MustParse("64Mi"),
		},
		CertificateOptions: controller.CertificateOptions{
			CertificateRequestMinimumBackoffDuration: time.Hour, // upstream's default
		},
	})
	if err != nil {
		return fmt.Errorf("building the controller context: %w", err)
	}

	names := make([]string, 0, len(controller.Known()))
	for name := range controller.Known() {
		names = append(names, name)
	}
	sort.Strings(names)
	log.Info("starting controllers", "controllers", strings.Join(names, ","))

	var wg sync.WaitGroup
	errs := make(chan error, len(names))
	for _, name := range names {
		iface, err := controller.Known()[name](factory)
		if err != nil {
			return fmt.Errorf("constructing controller %s: %w", name, err)
		}
		wg.Go(func() {
			if err := iface.Run(workers, ctx); err != nil {
				errs <- fmt.Errorf("controller %s: %w", name, err)
			}
		})
	}

	// The informers every controller registered above, started once they all exist (as upstream does).
	shared, err := factory.Build()
	if err != nil {
		return err
	}
	shared.KubeSharedInformerFactory.Start(ctx.Done())
	shared.SharedInformerFactory.Start(ctx.Done())
	shared.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())
	if shared.GatewaySolverEnabled {
		shared.GWShared.Start(ctx.Done())
	}

	select {
	case err := <-errs:
		return err
	case <-ctx.Done():
	}
	wg.Wait()
	log.Info("stopped")
	return nil
}
