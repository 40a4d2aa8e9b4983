//go:build tools

// Package flannel pins upstream flanneld (github.com/flannel-io/flannel, whose command is the module's root
// package main) for the test cluster: build.ts runs `go build github.com/flannel-io/flannel` in this module,
// so the binary is upstream's, built against the versions this go.mod selects. No code of ours runs in it.
//
// One replace line below is ours: flannel v0.28.11 requires tencentcloud-sdk-go/tencentcloud/vpc v1.3.208,
// which the Go module proxy refuses; only flannel's tencent-vpc backend (not used here) imports it, and
// v1.0.1000, which the proxy serves, compiles with that backend (measured: the build succeeds).
package flannel

import (
	_ "github.com/flannel-io/flannel"
	_ "github.com/flannel-io/flannel/cmd/install_conf"
)
