/**
 * Cross-checks a scenario against the platform it describes (pure): every `as: kind/name` workload and every
 * service target (and its port) must exist in the snapshot, so a renamed Deployment or Service port fails
 * `netcheck validate` at the scenario's line instead of a probe failing at run time.
 */
import { ScenarioError } from '../model/errors.js';
import type { ClusterSnapshot, PodInfo } from '../policy/types.js';
import { formatSuggestion } from './nearest-name.js';
import { raise } from './parse.js';
import type { Scenario } from './types.js';

/** How the manifests name the workload a pod stands for, as `as:` does: `deployment/api`, or `pod/name`. */
export function workloadOf(pod: PodInfo): string {
  return pod.owner ?? `pod/${pod.name}`;
}

/** Throws every mismatch at once (a ScenarioErrorList when there are several). */
export function checkScenarioAgainstSnapshot(scenario: Scenario, snapshot: ClusterSnapshot): void {
  const errors: ScenarioError[] = [];
  for (const source of scenario.sources) {
    if (source.kind !== 'pod' || source.as === undefined) continue;
    const wanted = `${source.as.kind}/${source.as.name}`;
    const inNamespace = snapshot.pods.filter((pod) => pod.namespace === source.namespace);
    if (inNamespace.some((pod) => workloadOf(pod) === wanted)) continue;
    const elsewhere = snapshot.pods.find((pod) => workloadOf(pod) === wanted);
    const hint = elsewhere ? ` (it is in namespace \`${elsewhere.namespace}\`)` : formatSuggestion(wanted, inNamespace.map(workloadOf));
    errors.push(new ScenarioError(source.location, `source \`${source.name}\`: the manifests have no ${wanted} in namespace \`${source.namespace}\`${hint}`));
  }
  for (const target of scenario.targets) {
    if (target.kind !== 'service') continue;
    const service = snapshot.services.find((s) => s.namespace === target.namespace && s.name === target.service);
    if (!service) {
      const names = snapshot.services.filter((s) => s.namespace === target.namespace).map((s) => s.name);
      errors.push(
        new ScenarioError(
          target.location,
          `target \`${target.name}\`: the manifests have no Service \`${target.service}\` in namespace \`${target.namespace}\`${formatSuggestion(target.service, names)}`,
        ),
      );
      continue;
    }
    const port = target.port;
    const ports = service.ports.filter((p) => p.protocol === target.protocol);
    if (!ports.some((p) => (typeof port === 'number' ? p.port === port : p.name === port))) {
      const offered = ports.map((p) => (p.name ? `${p.name}/${p.port}` : String(p.port))).join(', ') || 'none';
      errors.push(
        new ScenarioError(
          target.location,
          `target \`${target.name}\`: Service ${target.namespace}/${target.service} has no ${target.protocol} port \`${port}\` (it offers ${offered})`,
        ),
      );
    }
  }
  // The locations name the file as the user gave it; scenario.file is absolute.
  if (errors.length > 0) raise(errors[0]?.location.file ?? scenario.file, errors);
}
