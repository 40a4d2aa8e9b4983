/**
 * What netcheck does not model of a Calico policy (the rest is evaluated by calico-policy.ts): said by lint
 * (NC011) and, per flow, by the verdict's `undecided`. Pure.
 */
import { describeCalicoPolicy } from './calico-policy.js';
import { parseCalicoSelector, selectorKeys } from './calico-selector.js';
import type { CalicoEntityRule, CalicoRule, OtherPolicy } from './types.js';

/** A ServiceAccount selector on anything but its name reads labels netcheck does not read. */
function readsServiceAccountLabels(selector: string | undefined): boolean {
  return selector !== undefined && selectorKeys(parseCalicoSelector(selector).root).some((k) => k !== 'projectcalico.org/name');
}

function entityGaps(entity: CalicoEntityRule, where: string): string[] {
  const gaps: string[] = [];
  if (entity.services) gaps.push(`${where}.services (a Kubernetes Service match)`);
  if (readsServiceAccountLabels(entity.serviceAccounts?.selector)) gaps.push(`${where}.serviceAccounts.selector (ServiceAccount labels, which netcheck does not read)`);
  return gaps;
}

function ruleGaps(rule: CalicoRule, where: string): string[] {
  const gaps = [...entityGaps(rule.source, `${where}.source`), ...entityGaps(rule.destination, `${where}.destination`)];
  if (rule.source.ports || rule.source.notPorts) gaps.push(`${where}.source.${rule.source.ports ? 'ports' : 'notPorts'} (a client's ephemeral source port)`);
  if (rule.http !== undefined) gaps.push(`${where}.http (application layer policy)`);
  return gaps;
}

/** The parts of a Calico policy netcheck cannot decide, each naming the field; empty when it is fully modelled. */
export function calicoPolicyGaps(policy: OtherPolicy): string[] {
  if (policy.hostEndpointOnly !== undefined) {
    return [`spec.${policy.hostEndpointOnly}: felix applies ${policy.hostEndpointOnly} policies to host endpoints only, which netcheck does not model; it never decides a pod's traffic and netcheck leaves it out`];
  }
  const gaps: string[] = [];
  if (readsServiceAccountLabels(policy.serviceAccountSelector)) gaps.push('spec.serviceAccountSelector (ServiceAccount labels, which netcheck does not read)');
  if (policy.applyOnForward) gaps.push('spec.applyOnForward (forwarded traffic through host endpoints is not modelled; pod traffic is evaluated)');
  (policy.ingress ?? []).forEach((r, i) => gaps.push(...ruleGaps(r, `spec.ingress[${i}]`)));
  (policy.egress ?? []).forEach((r, i) => gaps.push(...ruleGaps(r, `spec.egress[${i}]`)));
  return gaps;
}

export { describeCalicoPolicy as describeOtherPolicy };
