/**
 * `--in-pod` (and `probe --from NS/POD`): a source that names a workload runs its checks from one of the
 * workload's own Ready pods, in an ephemeral container (src/probe/in-pod.ts), instead of a new pod carrying its
 * labels. A source with no such pod, or whose pod refuses the container, falls back to the cloned-label pod, and
 * the run says which was used for each.
 */
import type { ClusterClient, WorkloadKind } from '../cluster/types.js';
import { agentRunArgs } from '../probe/agent.js';
import { InPodUnavailable, runInPod, type InPodProbe } from '../probe/in-pod.js';
import type { ProbePodResult, ProbePodState } from '../probe/lifecycle.js';
import { buildEphemeralProbe } from '../probe/pod-spec.js';
import type { Scenario } from '../scenario/types.js';
import type { ProbePodPlan } from './plan.js';

export interface InPodOptions {
  runId: string;
  signal: AbortSignal;
  deadline: number;
  image?: string;
  /** Prefer a pod on this node (`--node`); a probe pinned to a node (`node:`, --per-node) needs one there. */
  node?: string;
  onProgress?: (pod: InPodProbe, state: ProbePodState, detail?: string) => void;
}

export interface InPodOutcome {
  /** Results of the planned pods that ran in a real pod. */
  results: ProbePodResult[];
  /** Keys of the planned pods that still need a (cloned-label) probe pod. */
  fallback: Set<string>;
  /** One line per planned pod: which mode ran it, and why a fallback was needed. */
  notes: string[];
}

/** The workload a planned pod's sources name (`as:`), when they name one. */
function workloadOf(pod: ProbePodPlan, scenario: Scenario): { kind: WorkloadKind; name: string } | undefined {
  for (const s of scenario.sources) {
    if (s.kind === 'pod' && s.as !== undefined && pod.sources.includes(s.name)) return { kind: s.as.kind.toLowerCase() as WorkloadKind, name: s.as.name };
  }
  return undefined;
}

export async function runInRealPods(client: ClusterClient, pods: readonly ProbePodPlan[], scenario: Scenario, options: InPodOptions): Promise<InPodOutcome> {
  const fallback = new Set<string>();
  const notes: string[] = [];
  const runs = await Promise.all(
    pods.map(async (planned, index): Promise<ProbePodResult | undefined> => {
      const who = `${planned.sources.join(', ')} (${planned.namespace})`;
      const workload = workloadOf(planned, scenario);
      if (workload === undefined) {
        fallback.add(planned.key);
        notes.push(`--in-pod: ${who} names no workload (as:), so a new probe pod ran its checks`);
        return undefined;
      }
      const node = planned.node ?? options.node;
      let candidates = await client.listWorkloadPods(planned.namespace, workload.kind, workload.name, options.signal);
      // `--from NS/NAME` reads NAME as a Deployment first; a bare pod of that name is the other reading.
      if (candidates.length === 0 && workload.kind === 'deployment') candidates = await client.listWorkloadPods(planned.namespace, 'pod', workload.name, options.signal);
      const chosen = candidates.find((p) => node === undefined || p.nodeName === node);
      if (chosen === undefined) {
        fallback.add(planned.key);
        notes.push(`--in-pod: ${workload.kind}/${workload.name} in ${planned.namespace} has no Ready pod${node !== undefined ? ` on ${node}` : ''}: a new pod carrying its labels ran ${who}'s checks (a clone: not the workload's own identity)`);
        return undefined;
      }
      // The real pod has been programmed long ago: no settle delay.
      const container = buildEphemeralProbe({ runId: options.runId, index, args: agentRunArgs({ ...planned.plan, settleMs: 0 }), ...(options.image !== undefined ? { image: options.image } : {}) });
      const probe: InPodProbe = { key: planned.key, namespace: planned.namespace, pod: chosen.name, container };
      try {
        const result = await runInPod(client, probe, {
          signal: options.signal,
          deadline: options.deadline,
          ...(options.onProgress ? { onProgress: (state: ProbePodState, detail?: string) => options.onProgress?.(probe, state, detail) } : {}),
        });
        notes.push(`--in-pod: ${who} ran in pod ${planned.namespace}/${chosen.name}${chosen.nodeName ? ` on ${chosen.nodeName}` : ''} (ephemeral container ${container.name}, the pod's own identity)`);
        return result;
      } catch (error) {
        if (!(error instanceof InPodUnavailable)) throw error;
        fallback.add(planned.key);
        notes.push(`--in-pod: ${error.message}; a new pod carrying ${workload.kind}/${workload.name}'s labels ran ${who}'s checks instead (a clone: not the workload's own identity)`);
        return undefined;
      }
    }),
  );
  return { results: runs.filter((r): r is ProbePodResult => r !== undefined), fallback, notes };
}
