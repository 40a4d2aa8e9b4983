/**
 * Just enough OpenAPI v3 for kubectl: `kubectl create -f` (validation "strict") asks /openapi/v3 whether the
 * server supports the `fieldValidation` query parameter for the object's kind (a PATCH operation tagged with
 * x-kubernetes-group-version-kind that lists the parameter). When it does, kubectl skips client-side schema
 * validation, which would otherwise need the full /openapi/v2 schema. Schemas themselves are not served.
 */
import { RESOURCES, type ResourceDef } from './resources.js';

function groupVersionPath(def: ResourceDef): string {
  return def.group === '' ? `api/${def.version}` : `apis/${def.group}/${def.version}`;
}

export function openApiV3Root(): unknown {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const def of RESOURCES) {
    const gv = groupVersionPath(def);
    paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=lab1` };
  }
  return { paths };
}

export function openApiV3Document(gvPath: string): unknown | undefined {
  const defs = RESOURCES.filter((d) => groupVersionPath(d) === gvPath);
  if (defs.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  for (const def of defs) {
    const base = def.namespaced ? `/${gvPath}/namespaces/{namespace}/${def.plural}/{name}` : `/${gvPath}/${def.plural}/{name}`;
    paths[base] = {
      parameters: [
        { name: 'name', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } },
        ...(def.namespaced ? [{ name: 'namespace', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } }] : []),
        { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
      ],
      patch: {
        operationId: `patch${def.kind}`,
        // Real documents list fieldValidation on the operation; kubectl versions differ in where they look.
        parameters: [{ name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } }],
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group: def.group, version: def.version, kind: def.kind },
        responses: { '200': { description: 'OK' } },
      },
    };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths };
}
