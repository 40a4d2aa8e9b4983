//go:build tools

// Package helm pins upstream Helm (helm.sh/helm/v4, whose command is cmd/helm) for the chart tests: build.ts runs
// `go build helm.sh/helm/v4/cmd/helm` in this module, so the binary is upstream's, built against the versions this
// go.mod selects. No code of ours runs in it.
package helm

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
