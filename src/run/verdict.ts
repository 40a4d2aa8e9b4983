/**
 * One cell's verdict: intent × policy × observed (docs/architecture.md "The core model"). Pure.
 *
 * Decisions worth knowing:
 * - `refused` (ECONNREFUSED) is a rejection, by the destination (nothing listens) or by the data plane
 *   (kube-router, OVN-Kubernetes and Antrea REJECT denied flows; kube-proxy may REJECT a Service without
 *   endpoints). The socket cannot tell which, so the target decides: when it is known to be served (netcheck's
 *   own listener, or a Service whose ready endpoints are known) a refusal is `blocked`; otherwise the cell is
 *   `unknown`, never a pass. A refusal never counts as an open path.
 * - A `dns` target is "open" when the DNS server answered at all: `resolved`, and also NXDOMAIN/SERVFAIL/REFUSED
 *   answers (the query got through; the name or server is at fault). `dns-timeout` means the path is blocked, and
 *   so does a query rejected at the port (`refused`, read as above: cluster DNS is a Service).
 *   So `allow` passes only on `resolved` (a negative answer fails as a `dns` fault), and `deny` passes only on a
 *   blocked path. An allowed lookup that gets no answer is a `dns` fault when the policies allow it (DNS down or
 *   dropped), a `policy-gap` when they deny it.
 * - For every other target a DNS outcome is a `dns` fault whatever the intent: the name did not resolve,
 *   so nothing was tested — never "blocked".
 * - An HTTP check with `expectStatus` passes `allow` only on that status; another status means the path is
 *   open but the application answered differently: classified `unknown` (not a network fault).
 * - A Service known to have no ready endpoints (a `service`, a LoadBalancer `address`, cluster DNS): no backend is
 *   reached. Who stops the packet, and how, depends on the cluster (docs/cni.md): kube-router's egress rule rejects
 *   the ClusterIP from an egress-isolated pod, other pods see a timeout or unreachable, Calico drops; so the
 *   reason says only what is known, and neither a refusal nor a timeout decides the classification. A `deny` cell
 *   observed blocked proves nothing about the policy: `unknown`, never "refused, as expected"; an `allow` cell
 *   observed blocked is `data-plane` ("no ready endpoints") unless the policies deny it too — for cluster DNS, `dns`
 *   (no DNS server was reached) — and an HTTP answer with another status came from something that is not a
 *   backend (a load balancer answering for an empty pool): `data-plane`, not an "application answer".
 * - Outcome-level expectations (`connected`, `refused`, `blocked`, `nxdomain`) are judged as the allow/deny they map
 *   to, then the outcome itself: `refused` passes only on a refusal, `blocked` only on a timeout or unreachable (a
 *   path blocked the other way is `data-plane`: the enforcer drops where a reject was expected, or the reverse);
 *   `nxdomain` passes only on NXDOMAIN (a name that resolves is a `dns` fault). A refusal from a target with no known
 *   endpoints meets `refused` (the scenario asserts the refusal, not who made it).
 * - A `service` target whose name did not resolve carries the agent's one attempt at the ClusterIP
 *   (`clusterIPRetry`); the cell stays a `dns` fault and its reason says whether the path itself is open.
 * - Known gaps: a cell with `known` that fails as a network mismatch (policy-gap / data-plane / unknown) is
 *   `known-gap`: pass=false, but it does not fail the run. If it fails for another reason (DNS, probe) that is
 *   reported as such — it is not the documented gap. If a known cell PASSES, the scenario is stale: it is
 *   reported as `policy-gap` ("known gap no longer reproduces — remove `known`") and fails the run, so the
 *   scenario stays honest — unless the policies still contradict the intent: then the data plane ignored them,
 *   and the cell is `data-plane` (the gap is still there; keep `known`).
 */
import { ExitCode } from '../model/errors.js';
import type { Attempt, Outcome } from '../model/outcome.js';
import { describeOutcome, isOpen } from '../model/outcome.js';
import type { CellVerdict, Classification, PolicyView, RunSummary } from '../model/verdict.js';
import type { OutcomeExpectation, Target } from '../scenario/types.js';

export type Observation =
  | { kind: 'observed'; outcome: Outcome; attempts: Attempt[] }
  /** The probe never produced a result for this check (pod did not run, agent crashed, check not plannable). */
  | { kind: 'not-run'; reason: string };

export interface JudgeInput {
  cell: { source: string; target: string; expect: 'allow' | 'deny'; outcome?: OutcomeExpectation; known?: string };
  target: Target;
  policy: { view: PolicyView; explanation: string[] };
  observed: Observation;
  node?: string;
  probe?: string;
  /**
   * Ready endpoints of the Service behind the target (a `service`, the cluster DNS of a `dns` target, the
   * Service of a LoadBalancer `address`), when the snapshot knows: 0 explains a data-plane failure, and any
   * known count lets a refusal be read as blocked.
   */
  readyEndpoints?: number;
  /** The Service `readyEndpoints` counts ("namespace/name"), to name it in reasons. */
  service?: string;
  /** The agent's one attempt at the Service's ClusterIP after the name did not resolve (a `service` target). */
  clusterIPRetry?: { address: string; port: number; outcome: Outcome };
}

/**
 * A refusal from a Service without endpoints, in words: what is known. kube-proxy may REJECT it, and so does a
 * rejecting enforcer (kube-router) whose egress rules admit no pod behind the ClusterIP; netcheck cannot tell which.
 */
const REJECTED_NO_ENDPOINTS = 'the enforcer or kube-proxy rejected it';

/** `ambiguous`: a refusal from a target netcheck does not know to be served (nothing listens, or a REJECT). */
type Path = 'open' | 'blocked' | 'ambiguous' | 'dns-failure' | 'error';

/**
 * Who serves the target's port, as far as netcheck knows; a refusal is read through it. `listener`: netcheck
 * deployed it on exactly that port. `endpoints`: a Service with ready endpoints, so a refusal is the data plane
 * rejecting (or the endpoint pods not listening on the targetPort). `no-endpoints`: no backend can be reached, so a
 * refusal is the enforcer or kube-proxy rejecting the ClusterIP: blocked, like a timeout.
 */
type Served = 'listener' | 'endpoints' | 'no-endpoints' | 'unknown';

function servedBy(target: Target, readyEndpoints: number | undefined): Served {
  if (target.kind === 'listener') return 'listener';
  if (readyEndpoints === undefined) return 'unknown';
  return readyEndpoints > 0 ? 'endpoints' : 'no-endpoints';
}

/** Did traffic get through, for this kind of target? */
function observedPath(target: Target, outcome: Outcome, served: Served): Path {
  switch (outcome.kind) {
    case 'dns-nxdomain':
    case 'dns-servfail':
    case 'dns-refused':
      return target.kind === 'dns' ? 'open' : 'dns-failure';
    case 'dns-timeout':
      return target.kind === 'dns' ? 'blocked' : 'dns-failure';
    case 'dns-rejected':
      // The agent gives it only when resolving a name to connect to; a lookup that is the check is `refused`.
      return target.kind === 'dns' ? (served === 'unknown' ? 'ambiguous' : 'blocked') : 'dns-failure';
    case 'error':
      return 'error';
    case 'refused':
      return served === 'unknown' ? 'ambiguous' : 'blocked';
    case 'connected':
    case 'resolved':
    case 'http':
    case 'timeout':
    case 'unreachable':
      return isOpen(outcome) ? 'open' : 'blocked';
  }
}

export function judgeCell(input: JudgeInput): CellVerdict {
  const { cell, target, policy, observed } = input;
  const base = {
    source: cell.source,
    target: cell.target,
    expect: cell.expect,
    ...(cell.outcome !== undefined ? { expectOutcome: cell.outcome } : {}),
    policy: policy.view,
    policyExplanation: policy.explanation,
    ...(input.node !== undefined ? { node: input.node } : {}),
    ...(input.probe !== undefined ? { probe: input.probe } : {}),
    ...(cell.known !== undefined ? { known: cell.known } : {}),
  };

  if (observed.kind === 'not-run') {
    return {
      ...base,
      outcome: { kind: 'error', message: observed.reason },
      attempts: [],
      pass: false,
      classification: 'probe',
      reason: `probe did not run: ${observed.reason}`,
    };
  }

  const { outcome, attempts } = observed;
  const served = servedBy(target, input.readyEndpoints);
  const seen = describeOutcome(outcome, { addresses: true }) + rejectionNote(target, outcome, served);
  const flipFlop = flipFlopNote(target, attempts, served);
  const read = observedPath(target, outcome, served);
  const raw = byOutcome(input, outcome, seen, read) ?? classify(input, outcome, seen, read);
  const retry = clusterIPRetry(input, served);
  const withAttempts = {
    ...base,
    outcome,
    attempts,
    path: read === 'open' || read === 'blocked' ? read : ('unknown' as const),
    ...(retry ? { clusterIPRetry: retry.record } : {}),
  };
  if (retry && raw.classification === 'dns') raw.reason += `; ${retry.text}`;

  if (cell.known !== undefined) {
    const policyStillContradicts = policy.view !== 'unknown' && (policy.view === 'allow') !== (cell.expect === 'allow');
    if (raw.classification === 'pass' && policyStillContradicts) {
      // The gap is still in the policies; the data plane ignored them (e.g. a CNI that does not enforce policy).
      // "remove `known`" would be wrong advice: the cell fails again once enforcement works.
      return {
        ...withAttempts,
        pass: false,
        classification: 'data-plane',
        reason: `known gap did not reproduce (observed ${seen}), but the policies still say ${policy.view}: the data plane does not enforce them; keep \`known\` until the policies change`,
      };
    }
    if (raw.classification === 'pass') {
      return {
        ...withAttempts,
        pass: false,
        classification: 'policy-gap',
        reason: `known gap no longer reproduces (observed ${seen}, as expected) — remove \`known\` from the scenario`,
      };
    }
    if (raw.classification === 'policy-gap' || raw.classification === 'data-plane' || raw.classification === 'unknown') {
      // The scenario's own reason says it all; the engine's explanation stays in policyExplanation.
      return { ...withAttempts, pass: false, classification: 'known-gap', reason: `known gap: ${cell.known}` };
    }
  }
  return { ...withAttempts, pass: raw.classification === 'pass', classification: raw.classification, reason: raw.reason + flipFlop };
}

/** What the ClusterIP attempt after a failed lookup showed: the verdict's record of it, and a clause for the reason. */
function clusterIPRetry(input: JudgeInput, served: Served): { record: NonNullable<CellVerdict['clusterIPRetry']>; text: string } | undefined {
  const retry = input.clusterIPRetry;
  if (!retry) return undefined;
  const read = observedPath(input.target, retry.outcome, served);
  const path = read === 'open' || read === 'blocked' ? read : ('unknown' as const);
  const at = `${retry.address.includes(':') ? `[${retry.address}]` : retry.address}:${retry.port}`;
  const what =
    path === 'open'
      ? 'the path is open (only the name is broken)'
      : path === 'blocked'
        ? 'the path is blocked too'
        : `it is not known whether the path is open (${describeOutcome(retry.outcome)}${retry.outcome.kind === 'refused' ? ': nothing listens, or the data plane rejected it' : ''})`;
  const seen = path === 'unknown' ? '' : ` (${describeOutcome(retry.outcome)})`;
  return { record: { ...retry, path }, text: `via ClusterIP ${at} ${what}${seen}` };
}

/**
 * The outcome-level part of an outcome expectation, where it decides the cell on its own; undefined: the cell is
 * judged as the allow/deny it maps to (classify), then refined here by refineOutcome.
 */
function byOutcome(input: JudgeInput, outcome: Outcome, seen: string, path: Path): { classification: Classification; reason: string } | undefined {
  const expected = input.cell.outcome;
  if (expected === undefined) return undefined;
  const raw = () => classify(input, outcome, seen, path);
  switch (expected) {
    case 'connected':
      return undefined;
    case 'nxdomain':
      if (outcome.kind === 'dns-nxdomain') return { classification: 'pass', reason: `${seen}, as expected (nxdomain)` };
      if (path === 'open') {
        return { classification: 'dns', reason: `expected nxdomain, observed ${seen}: the name exists` };
      }
      return undefined;
    case 'refused':
    case 'blocked': {
      const judged = raw();
      const refused = outcome.kind === 'refused';
      if (expected === 'refused' && refused && path === 'ambiguous') {
        return { classification: 'pass', reason: `${seen}, as expected (refused; nothing listening or a rejecting data plane, netcheck cannot tell which)` };
      }
      if (judged.classification !== 'pass') return judged;
      if (expected === 'refused' && !refused) {
        return {
          classification: 'data-plane',
          reason: `expected refused, observed ${seen}: the path is blocked, but the packets are dropped, not rejected (the enforcer drops denied flows, or something else on the path drops them)`,
        };
      }
      if (expected === 'blocked' && refused) {
        return {
          classification: 'data-plane',
          reason: `expected blocked (a timeout or unreachable), observed ${seen}: the path is blocked, but rejected rather than dropped (a rejecting enforcer such as kube-router, or nothing listens)`,
        };
      }
      return { classification: 'pass', reason: `${seen}, as expected (${expected})` };
    }
  }
}

function classify(input: JudgeInput, outcome: Outcome, seen: string, path: Path): { classification: Classification; reason: string } {
  const { cell, target, policy } = input;
  switch (path) {
    case 'error':
      return { classification: 'probe', reason: `the check itself failed: ${seen}` };
    case 'dns-failure':
      return { classification: 'dns', reason: `${dnsName(target)} did not resolve (${seen}): a DNS fault, not a policy verdict` };
    case 'ambiguous':
      return {
        classification: 'unknown',
        reason:
          `${seen}: either nothing listens on ${refusingPort(target)} or the data plane rejected the connection ` +
          "(kube-router, OVN-Kubernetes REJECT denied flows); netcheck cannot tell without the target's endpoints",
      };
    case 'open':
    case 'blocked':
      break;
  }
  const noEndpoints = input.readyEndpoints === 0 && target.kind !== 'listener';
  const named = input.service ?? (target.kind === 'service' ? `${target.namespace}/${target.service}` : undefined);
  const fallback = target.kind === 'dns' ? 'the cluster DNS Service' : 'the service';
  const service = named !== undefined ? `service ${named}` : fallback;
  if (noEndpoints && path === 'blocked' && cell.expect === 'deny') {
    return {
      classification: 'unknown',
      reason:
        `${service} has no ready endpoints: ${outcome.kind === 'refused' ? `a refusal (${REJECTED_NO_ENDPOINTS})` : seen} ` +
        'proves nothing about the policy (the check could not test it)',
    };
  }

  if (target.kind === 'dns' && cell.expect === 'allow' && outcome.kind !== 'resolved') {
    if (path === 'open') {
      return { classification: 'dns', reason: `DNS answered ${seen} for ${target.host}: the server is reachable but the name does not resolve` };
    }
    if (noEndpoints && policy.view !== 'deny') {
      // No CoreDNS pod behind the Service: no lookup can be answered, whatever the policies or the node.
      return {
        classification: 'dns',
        reason:
          `no DNS answer for ${target.host} (${seen}${outcome.kind === 'refused' ? `: ${REJECTED_NO_ENDPOINTS}` : ''}): ` +
          `${service} has no ready endpoints, so no DNS server was reached`,
      };
    }
    if (policy.view === 'allow') {
      // Policy lets DNS through and nothing answered: the DNS service itself (or its packets) is the fault.
      return {
        classification: 'dns',
        reason: `no DNS answer for ${target.host} (${seen}) although the policies allow it: cluster DNS is down or its packets are dropped`,
      };
    }
  }
  const wantedStatus = target.kind === 'service' || target.kind === 'address' ? target.http?.expectStatus : undefined;
  const observedOpen = path === 'open';
  const intentOpen = cell.expect === 'allow';

  if (noEndpoints && intentOpen && !observedOpen && policy.view !== 'deny') {
    return {
      classification: 'data-plane',
      reason:
        `expected allow, observed ${seen}: ${service} has no ready endpoints` +
        (outcome.kind === 'refused' ? ` (refused: ${REJECTED_NO_ENDPOINTS})` : ''),
    };
  }
  if (observedOpen === intentOpen) {
    if (intentOpen && wantedStatus !== undefined && noEndpoints && !(outcome.kind === 'http' && outcome.status === wantedStatus)) {
      return {
        classification: 'data-plane',
        reason: `expected http:${wantedStatus}, observed ${seen}, and ${service} has no ready endpoints: the answer is not a backend's (a load balancer or proxy answered for an empty pool)`,
      };
    }
    if (intentOpen && wantedStatus !== undefined && !(outcome.kind === 'http' && outcome.status === wantedStatus)) {
      return {
        classification: 'unknown',
        reason: `path is open but the answer was ${seen}, expected http:${wantedStatus}: an application answer, not a network fault`,
      };
    }
    return { classification: 'pass', reason: `${seen}, as expected (${cell.expect})` };
  }

  const decisive = policy.explanation[0] ?? '';
  if (policy.view === 'unknown') {
    return {
      classification: 'unknown',
      reason: `expected ${cell.expect}, observed ${seen}; policy cannot decide this flow${decisive ? `: ${decisive}` : ''}`,
    };
  }
  const policyOpen = policy.view === 'allow';
  if (policyOpen === observedOpen) {
    return {
      classification: 'policy-gap',
      reason: `expected ${cell.expect}, observed ${seen}, and the policies say ${policy.view}: ${decisive}`,
    };
  }
  // Policy agrees with intent; the data plane did something else.
  const why = observedOpen
    ? 'the data plane lets it through (the CNI does not enforce this policy)'
    : outcome.kind === 'refused'
      ? 'the data plane rejects it (CNI fault, broken node), or the application does not listen'
      : 'the data plane drops it (CNI fault, broken node, or nothing behind the service)';
  return { classification: 'data-plane', reason: `expected ${cell.expect}, observed ${seen}; policies say ${policy.view}: ${why}` };
}

/** A served target's refusal, in words: the data plane rejected it, or the port is not served after all. */
function rejectionNote(target: Target, outcome: Outcome, served: Served): string {
  if (outcome.kind !== 'refused') return '';
  if (target.kind === 'listener') return ` (rejected: the data plane refused it, or nothing listens on port ${target.port} in the listener pod)`;
  // No endpoints: the verdict's reason names them. Unknown: the ambiguous reason says it all.
  return served === 'endpoints' ? ' (rejected: the data plane refused it, or nothing listens on the port in the endpoint pods)' : '';
}

/** Where a refusal came from, as the scenario names it. */
function refusingPort(target: Target): string {
  switch (target.kind) {
    case 'dns':
      return `the DNS server's port 53 (looking up ${target.host})`;
    case 'service':
      return `${target.service}.${target.namespace}:${target.port}`;
    case 'listener':
      return `listener ${target.name}:${target.port}`;
    case 'address':
      return `${target.address}:${target.port}`;
  }
}

function dnsName(target: Target): string {
  switch (target.kind) {
    case 'dns':
      return target.host;
    case 'service':
      return `${target.service}.${target.namespace}`;
    case 'listener':
      return `listener ${target.name}`;
    case 'address':
      return target.address;
  }
}

/** When attempts disagree about the path, say so: flapping is a finding of its own. */
function flipFlopNote(target: Target, attempts: Attempt[], served: Served): string {
  if (attempts.length < 2) return '';
  const paths = new Set(attempts.map((a) => observedPath(target, a.outcome, served)));
  if (paths.size < 2) return '';
  return ` (attempts disagree: ${attempts.map((a) => describeOutcome(a.outcome, { addresses: true })).join(' → ')})`;
}

/** Counts for the run; `failed` excludes known gaps, so it alone decides the exit code. */
export function summarizeCells(cells: readonly CellVerdict[]): RunSummary {
  const byClassification: Record<Classification, number> = {
    pass: 0,
    'known-gap': 0,
    'policy-gap': 0,
    'data-plane': 0,
    dns: 0,
    probe: 0,
    unknown: 0,
  };
  for (const c of cells) byClassification[c.classification]++;
  const passed = cells.filter((c) => c.pass).length;
  const knownGaps = byClassification['known-gap'];
  return { total: cells.length, passed, failed: cells.length - passed - knownGaps, knownGaps, byClassification };
}

/**
 * The exit code of a run that judged its cells, so CI can tell whose problem a red run is: a policy regression
 * (1: the author's change) before incomplete results (3: the probes could not run) before an environment fault
 * (4: the platform's data plane or DNS). A known gap never fails a run.
 */
export function runExitCode(summary: RunSummary, infrastructureFailures: number): ExitCode {
  const by = summary.byClassification;
  if (by['policy-gap'] + by.unknown > 0) return ExitCode.Mismatch;
  if (infrastructureFailures > 0 || by.probe > 0) return ExitCode.Infrastructure;
  if (by['data-plane'] + by.dns > 0) return ExitCode.Environment;
  return ExitCode.Pass;
}
