import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../src/model/errors.js';
import type { ClusterSnapshot } from '../../src/policy/types.js';
import { checkScenarioAgainstSnapshot } from '../../src/scenario/check-manifests.js';
import { parseScenario } from '../../src/scenario/parse.js';

const snapshot: ClusterSnapshot = {
  namespaces: [],
  pods: [
    { namespace: 'financial-ml', name: 'financial-predictor', labels: { app: 'p' }, ports: [], owner: 'deployment/financial-predictor' },
    { namespace: 'mlflow', name: 'mlflow', labels: { app: 'm' }, ports: [], owner: 'deployment/mlflow' },
    { namespace: 'default', name: 'debug', labels: {}, ports: [] },
  ],
  services: [
    {
      namespace: 'seldon-system',
      name: 'seldon-scheduler',
      type: 'ClusterIP',
      selector: { app: 's' },
      loadBalancerIPs: [],
      ports: [{ name: 'scheduler', port: 9005, targetPort: 9005, protocol: 'TCP' }],
    },
  ],
  policies: [],
  nodes: [],
};

function scenarioWith(source: string, target: string) {
  return parseScenario(
    [
      'apiVersion: netcheck.io/v1alpha1',
      'kind: Scenario',
      'metadata: { name: demo }',
      'sources:',
      `  src: ${source}`,
      'targets:',
      `  tgt: ${target}`,
      'matrix:',
      '  src: { allow: [tgt] }',
    ].join('\n'),
    'demo.yaml',
  );
}

const okTarget = '{ service: seldon-scheduler, namespace: seldon-system, port: 9005 }';
const okSource = '{ namespace: financial-ml, as: deployment/financial-predictor }';

describe('checkScenarioAgainstSnapshot', () => {
  it.each([
    { name: 'deployment and service port by number', source: okSource, target: okTarget },
    { name: 'service port by name', source: okSource, target: '{ service: seldon-scheduler, namespace: seldon-system, port: scheduler }' },
    { name: 'a bare pod', source: '{ namespace: default, as: pod/debug }', target: okTarget },
    { name: 'labels instead of as', source: '{ namespace: nowhere, labels: { app: x } }', target: okTarget },
  ])('accepts $name', ({ source, target }) => {
    expect(() => checkScenarioAgainstSnapshot(scenarioWith(source, target), snapshot)).not.toThrow();
  });

  it.each([
    {
      name: 'a misspelled workload',
      source: '{ namespace: financial-ml, as: deployment/financial-predicter }',
      target: okTarget,
      message: 'demo.yaml:5:3: source `src`: the manifests have no deployment/financial-predicter in namespace `financial-ml`; did you mean `deployment/financial-predictor`?',
    },
    {
      name: 'a workload in another namespace',
      source: '{ namespace: financial-ml, as: deployment/mlflow }',
      target: okTarget,
      message: 'demo.yaml:5:3: source `src`: the manifests have no deployment/mlflow in namespace `financial-ml` (it is in namespace `mlflow`)',
    },
    {
      name: 'a missing service',
      source: okSource,
      target: '{ service: seldon-schedular, namespace: seldon-system, port: 9005 }',
      message: 'demo.yaml:7:3: target `tgt`: the manifests have no Service `seldon-schedular` in namespace `seldon-system`; did you mean `seldon-scheduler`?',
    },
    {
      name: 'a port the service does not offer',
      source: okSource,
      target: '{ service: seldon-scheduler, namespace: seldon-system, port: 9004 }',
      message: 'demo.yaml:7:3: target `tgt`: Service seldon-system/seldon-scheduler has no TCP port `9004` (it offers scheduler/9005)',
    },
    {
      name: 'a protocol the service port does not speak',
      source: okSource,
      target: '{ service: seldon-scheduler, namespace: seldon-system, port: 9005, protocol: UDP }',
      message: 'demo.yaml:7:3: target `tgt`: Service seldon-system/seldon-scheduler has no UDP port `9005` (it offers none)',
    },
  ])('rejects $name at the scenario line', ({ source, target, message }) => {
    const scenario = scenarioWith(source, target);
    expect(() => checkScenarioAgainstSnapshot(scenario, snapshot)).toThrow(ScenarioError);
    expect(() => checkScenarioAgainstSnapshot(scenario, snapshot)).toThrow(message);
  });
});
