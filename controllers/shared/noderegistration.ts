// A machine's node registration — the labels and taints its kubelet registers the Node with, as
// kubeadm's nodeRegistration (kubeletExtraArgs node-labels, taints) gives them — carried on the
// Machine in one annotation (NODE_REGISTRATION_ANNOTATION) from the topology's variables, so that
// whatever registers the guest's Node reads the Machine alone, whether a TKC or a Cluster topology
// made it.
import { NODE_REGISTRATION_ANNOTATION } from "../api/contracts.ts";

export interface NodeTaint {
  key: string;
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

export interface NodeRegistration {
  labels: Record<string, string>;
  taints: NodeTaint[];
}

export const CONTROL_PLANE_ROLE = "node-role.kubernetes.io/control-plane";

/** What kubeadm init/join gives a control-plane node: its role taint, no labels of the pool's. */
export const controlPlaneRegistration: NodeRegistration = {
  labels: {},
  taints: [{ key: CONTROL_PLANE_ROLE, effect: "NoSchedule" }],
};

/** The annotation's value (keys sorted, so that the same registration is the same text). */
export function encodeNodeRegistration(r: NodeRegistration): Record<string, string> {
  const labels = Object.fromEntries(Object.entries(r.labels).sort(([a], [b]) => a.localeCompare(b)));
  return { [NODE_REGISTRATION_ANNOTATION]: JSON.stringify({ labels, taints: r.taints }) };
}

/**
 * The Machine's registration; `fallback` when it has none or an unreadable one (a Machine made
 * before the annotation existed: kubeadm's defaults for its role).
 */
export function nodeRegistrationOf(
  annotations: Readonly<Record<string, string | undefined>> | undefined,
  fallback: NodeRegistration,
): NodeRegistration {
  const text = annotations?.[NODE_REGISTRATION_ANNOTATION];
  if (!text) return fallback;
  try {
    const r = JSON.parse(text) as Partial<NodeRegistration>;
    const labels = typeof r.labels === "object" && r.labels !== null ? r.labels : {};
    const taints = Array.isArray(r.taints) ? r.taints.filter((t) => typeof t?.key === "string") : [];
    return { labels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)])), taints };
  } catch {
    return fallback;
  }
}
