// A topology's variables as a machine needs them: the class's defaults, then the Cluster's
// `variables`, then a MachineDeployment's `variables.overrides` (upstream's order of precedence).
// Both of VMware's class families are read: `tanzukubernetescluster` (vSphere 8.0 U1–U3:
// vmClass, storageClass, nodePoolLabels as [{key, value}]) and `builtin-generic-v3.x.y` (vSphere
// Kubernetes Service: vmClass, storageClass, node.labels as a map). What Pacific's machines carry
// of them is the VM template (class, storage class) and the node labels and taints (nodePoolTaints,
// node.taints) their kubelets register with; the other variables (volumes, kubernetes,
// osConfiguration, vsphereOptions, …) are admitted against the class's schema and not acted on.
import type { ClusterClassSpec } from "../../api/cluster/clusterclass.ts";
import type { NodeTaint } from "../noderegistration.ts";
import type { TopologyVariable } from "./types.ts";

type ClassVariable = NonNullable<ClusterClassSpec["variables"]>[number];

export type Values = ReadonlyMap<string, unknown>;

/** Variable values by name, later sources winning. */
export function resolveValues(
  classVariables: readonly ClassVariable[] | undefined,
  ...sources: ReadonlyArray<readonly TopologyVariable[] | undefined>
): Values {
  const out = new Map<string, unknown>();
  for (const v of classVariables ?? []) {
    const d = v.schema?.openAPIV3Schema?.default;
    if (d !== undefined) out.set(v.name, d);
  }
  for (const list of sources) for (const v of list ?? []) out.set(v.name, v.value);
  return out;
}

/** What a machine of the control plane or of a pool is made with. */
export interface MachineVariables {
  vmClass?: string;
  storageClass?: string;
  /** Node labels of a pool (the control plane's nodes get none, as a TKC's). */
  labels: Record<string, string>;
  /** Node taints of a pool (the control plane's nodes get kubeadm's own, not these). */
  taints: NodeTaint[];
}

const EFFECTS: ReadonlySet<string> = new Set(["NoSchedule", "PreferNoSchedule", "NoExecute"]);

const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** `nodePoolLabels: [{key, value}]` and `node: {labels: {k: v}}`, the latter winning. */
function labelsOf(values: Values): Record<string, string> {
  const out: Record<string, string> = {};
  const list = values.get("nodePoolLabels");
  if (Array.isArray(list))
    for (const l of list) if (isRecord(l) && str(l.key)) out[l.key as string] = String(l.value ?? "");
  const node = values.get("node");
  if (isRecord(node) && isRecord(node.labels))
    for (const [k, v] of Object.entries(node.labels)) out[k] = String(v ?? "");
  return out;
}

/**
 * `nodePoolTaints: [{key, value, effect}]` and `node: {taints: [...]}`, the latter winning for the
 * same key and effect (a Node holds one taint per pair). timeAdded is the API server's business.
 */
function taintsOf(values: Values): NodeTaint[] {
  const out = new Map<string, NodeTaint>();
  const node = values.get("node");
  for (const list of [values.get("nodePoolTaints"), isRecord(node) ? node.taints : undefined]) {
    if (!Array.isArray(list)) continue;
    for (const t of list) {
      if (!isRecord(t) || !str(t.key) || typeof t.effect !== "string" || !EFFECTS.has(t.effect)) continue;
      const value = str(t.value);
      const taint = {
        key: t.key as string,
        effect: t.effect as NodeTaint["effect"],
        ...(value ? { value } : {}),
      };
      out.set(`${taint.key}:${taint.effect}`, taint);
    }
  }
  return [...out.values()];
}

export function machineVariables(values: Values, role: "controlPlane" | "worker"): MachineVariables {
  const worker = role === "worker";
  return {
    vmClass: str(values.get("vmClass")),
    storageClass: str(values.get("storageClass")),
    labels: worker ? labelsOf(values) : {},
    taints: worker ? taintsOf(values) : [],
  };
}
