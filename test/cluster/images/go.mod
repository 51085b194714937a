// The harness's own small images (test/cluster): the pod sandbox's pause process and the stand-ins
// for NSM's cmd-nsc-init and cmd-nsc. Standard library only; built by scripts/cluster/build-images.sh.
module nsm-sidecar-injector/test/cluster/images

go 1.26.0
