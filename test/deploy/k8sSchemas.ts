/**
 * Validation of rendered manifests against Kubernetes schemas available offline:
 *
 * 1. kubernetes-models (npm; validators generated from Kubernetes' OpenAPI schema) for the built-in
 *    kinds, and @kubernetes-models/prometheus-operator and @kubernetes-models/keda (generated from
 *    those projects' CRDs) for ServiceMonitor, PodMonitor, PrometheusRule, ScaledObject and
 *    TriggerAuthentication: types, required fields, enums, formats. These accept unknown fields.
 * 2. For the built-in kinds, unknown fields and scalar types against Kubernetes 1.37's own structure
 *    schema (the structured-merge-diff schema of k8s.io/client-go v0.37.0, extracted by
 *    scripts/install-deploy-tools.sh), which is what `kubeconform -strict` adds: a misspelt
 *    `readOnlyRootFileSystem` is an error, not silently dropped by the API server.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { K8S_STRUCTURE_FILE, toolImport, type Manifest } from './deployTools.js';

const MODEL_PATHS: Record<string, string> = {
  'v1/ConfigMap': 'kubernetes-models/v1/ConfigMap.js',
  'v1/Secret': 'kubernetes-models/v1/Secret.js',
  'v1/Service': 'kubernetes-models/v1/Service.js',
  'v1/ServiceAccount': 'kubernetes-models/v1/ServiceAccount.js',
  'v1/Pod': 'kubernetes-models/v1/Pod.js',
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment.js',
  'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget.js',
  'autoscaling/v2/HorizontalPodAutoscaler': 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler.js',
  'networking.k8s.io/v1/NetworkPolicy': 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy.js',
  'monitoring.coreos.com/v1/ServiceMonitor':
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor.js',
  'monitoring.coreos.com/v1/PodMonitor':
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor.js',
  'monitoring.coreos.com/v1/PrometheusRule':
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule.js',
  'keda.sh/v1alpha1/ScaledObject': '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject.js',
  'keda.sh/v1alpha1/TriggerAuthentication': '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication.js',
};

/** Errors from the generated OpenAPI/CRD validators (empty when valid). */
export async function modelErrors(m: Manifest): Promise<string[]> {
  const key = `${m.apiVersion}/${m.kind}`;
  const path = MODEL_PATHS[key];
  if (!path) return [`no schema known for ${key}`];
  const mod = await toolImport(path);
  const Model = mod[m.kind];
  try {
    new Model(m).validate();
    return [];
  } catch (err) {
    return [`${key} ${m.metadata.name}: ${(err as Error).message}`];
  }
}

type TypeRef = {
  namedType?: string;
  scalar?: 'string' | 'numeric' | 'boolean' | 'untyped';
  list?: { elementType: TypeRef };
  map?: { fields?: { name: string; type: TypeRef }[]; elementType?: TypeRef };
};
type TypeDef = TypeRef & { name: string };

let structure: Map<string, TypeDef> | undefined;

function loadStructure(): Map<string, TypeDef> {
  if (!structure) {
    const doc = parse(readFileSync(K8S_STRUCTURE_FILE, 'utf8')) as { types: TypeDef[] };
    structure = new Map(doc.types.map((t) => [t.name, t]));
  }
  return structure;
}

/** The structure type of a built-in kind, e.g. apps/v1 Deployment -> io.k8s.api.apps.v1.Deployment. */
export function structureTypeName(apiVersion: string, kind: string): string | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  const name = `io.k8s.api.${group!.replace(/\.k8s\.io$/, '')}.${version}.${kind}`;
  return loadStructure().has(name) ? name : undefined;
}

function check(value: unknown, ref: TypeRef, path: string, errors: string[]): void {
  if (value === null || value === undefined) return; // null means unset to the API server
  let def: TypeRef = ref;
  if (ref.namedType) {
    if (ref.namedType.startsWith('__untyped_')) return; // free-form (e.g. RawExtension, JSON)
    const found = loadStructure().get(ref.namedType);
    if (!found) {
      errors.push(`${path}: unknown type ${ref.namedType}`);
      return;
    }
    def = found;
  }
  if (def.scalar && !def.list && !def.map) {
    const ok =
      def.scalar === 'untyped'
        ? ['string', 'number', 'boolean'].includes(typeof value)
        : typeof value === { string: 'string', numeric: 'number', boolean: 'boolean' }[def.scalar];
    if (!ok) errors.push(`${path}: ${JSON.stringify(value)} is not a ${def.scalar}`);
    return;
  }
  if (def.list) {
    if (!Array.isArray(value)) {
      errors.push(`${path}: must be a list`);
      return;
    }
    value.forEach((v, i) => check(v, def.list!.elementType, `${path}[${i}]`, errors));
    return;
  }
  if (def.map) {
    if (typeof value !== 'object' || Array.isArray(value)) {
      errors.push(`${path}: must be an object`);
      return;
    }
    const fields = new Map((def.map.fields ?? []).map((f) => [f.name, f.type]));
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const t = fields.get(k) ?? def.map.elementType;
      if (!t) errors.push(`${path}.${k}: unknown field`);
      else check(v, t, `${path}.${k}`, errors);
    }
  }
}

/** Unknown fields and wrong scalar types of a built-in kind; undefined for kinds it does not know (CRDs). */
export function structureErrors(m: Manifest): string[] | undefined {
  const name = structureTypeName(m.apiVersion, m.kind);
  if (!name) return undefined;
  const errors: string[] = [];
  check(m, { namedType: name }, `${m.kind}/${m.metadata.name}`, errors);
  return errors;
}
