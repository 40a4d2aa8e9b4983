// Command coredns is upstream CoreDNS's own main (coredns.go) built from a pinned module version, with the
// default plugin set, so the test cluster's DNS is the real thing. No code of ours runs here.
package main

import (
	_ "github.com/coredns/coredns/core/plugin" // Plug in CoreDNS.
	"github.com/coredns/coredns/coremain"
)

func main() {
	coremain.Run()
}
