//go:build tools

// Package tools pins the Calico commands the test cluster runs: node/cmd/calico-node (felix, -startup,
// -allocate-tunnel-addrs, ...), cni-plugin/cmd/calico (the CNI plugin; calico-ipam by argv[0]),
// cni-plugin/cmd/install (what install-cni runs), kube-controllers/cmd/kube-controllers and
// kube-controllers/cmd/check-status (its probes). build.ts builds each by its package path in this module, so
// they are upstream's own main packages, unchanged. No code of ours runs.
package tools

import (
	_ "github.com/projectcalico/calico/cni-plugin/cmd/calico"
	_ "github.com/projectcalico/calico/cni-plugin/cmd/install"
	_ "github.com/projectcalico/calico/kube-controllers/cmd/check-status"
	_ "github.com/projectcalico/calico/kube-controllers/cmd/kube-controllers"
	_ "github.com/projectcalico/calico/node/cmd/calico-node"
)
