#!/bin/sh
# runc, for a machine whose root lacks CAP_SYS_RESOURCE (these firecracker VMs: CapBnd has bit 24 clear), where
# the kernel refuses any oom_score_adj below 0. The kubelet asks -998 for every pod sandbox and -997 for
# Guaranteed containers, and runc's nsexec dies on the refusal ("can't get final child's PID from pipe"). This
# raises a negative oomScoreAdj in the bundle's config.json to 0 before `runc create`, and changes nothing else.
# containerd's runc options point BinaryName here (configs.ts).
prev=""
for arg in "$@"; do
  if [ "$prev" = "--bundle" ] || [ "$prev" = "-b" ]; then
    sed -i -E 's/"oomScoreAdj":-[0-9]+/"oomScoreAdj":0/' "$arg/config.json"
  fi
  prev="$arg"
done
exec runc "$@"
