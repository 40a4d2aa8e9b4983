// Command kubectl is upstream's cmd/kubectl/kubectl.go of Kubernetes v1.29.9, copied unchanged: upstream keeps
// it in package main, which cannot be imported. It is the kubectl Calico v3.28's flannel-migration controller
// image ships (metadata.mk K8S_VERSION=v1.29.9) and shells out to: `kubectl drain --delete-local-data`, a flag
// kubectl removed later (1.32's rejects it), so the controller needs this one, not the cluster's.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"

	// Import to initialize client auth plugins.
	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		// Pretty-print the error and exit with an error.
		util.CheckErr(err)
	}
}
