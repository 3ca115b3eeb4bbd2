// What one viewer may see and do, decided by SubjectAccessReview as that viewer: `list` on a kind
// (cluster-wide, else per Supervisor Namespace) lets its rows through; `patch` shows the action
// buttons. The API server decides again when an action is taken (it is sent with the viewer's token).

import { must } from "../runtime/must.js";
import type { Authorizer, ResourceAttributes, Viewer } from "./auth.ts";
import type { Abilities, Row, RowResource } from "./model.ts";

const GROUPS: Record<RowResource, string> = {
  esxihosts: "vsphere.pacific.dev",
  supervisornamespaces: "vsphere.pacific.dev",
  vspherepods: "vsphere.pacific.dev",
  pods: "",
  virtualmachines: "vmoperator.vmware.com",
  virtualmachineservices: "vmoperator.vmware.com",
  tanzukubernetesclusters: "run.tanzu.vmware.com",
  machines: "cluster.x-k8s.io",
  events: "events.k8s.io",
};
const CLUSTER_SCOPED: RowResource[] = ["esxihosts", "supervisornamespaces"];
const NAMESPACED = (Object.keys(GROUPS) as RowResource[]).filter((r) => !CLUSTER_SCOPED.includes(r));

/** Cluster-wide: every namespace. */
export const ALL = "*";

export interface Scope {
  seesHosts: boolean;
  abilities: Abilities;
  /** Per namespaced kind: ALL, or the namespaces where the viewer may list it. */
  readonly namespaces: Record<RowResource, Set<string>>;
  visible(row: Row): boolean;
  /** Equal signatures: nothing to resend. */
  signature: string;
}

/** May `list` (or `verb`) `res` in `ns`, given the namespaces allowed. */
export function inScope(allowed: Set<string> | undefined, ns: string | undefined): boolean {
  return !!allowed && (allowed.has(ALL) || (ns !== undefined && allowed.has(ns)));
}

/**
 * Asks the API server, as `viewer`, which kinds it may list where, among `namespaces` (the
 * Supervisor Namespaces, plus "default" where events of cluster-scoped objects go).
 */
export async function computeScope(viewer: Viewer, authz: Authorizer, namespaces: string[]): Promise<Scope> {
  const can = (a: ResourceAttributes) => authz.allowed(viewer, a);
  const where = async (verb: string, res: RowResource): Promise<Set<string>> => {
    const group = GROUPS[res];
    if (await can({ verb, group, resource: res })) return new Set([ALL]);
    const ok = await Promise.all(namespaces.map((ns) => can({ verb, group, resource: res, namespace: ns })));
    return new Set(namespaces.filter((_, i) => ok[i]));
  };
  const [hosts, svns, maintenance, vmPower, scale, ...lists] = await Promise.all([
    can({ verb: "list", group: GROUPS.esxihosts, resource: "esxihosts" }),
    can({ verb: "list", group: GROUPS.supervisornamespaces, resource: "supervisornamespaces" }),
    can({ verb: "patch", group: GROUPS.esxihosts, resource: "esxihosts" }),
    where("patch", "virtualmachines"),
    where("patch", "tanzukubernetesclusters"),
    ...NAMESPACED.map((r) => where("list", r)),
  ]);
  const perKind = {} as Record<RowResource, Set<string>>;
  NAMESPACED.forEach((r, i) => {
    perKind[r] = must(lists[i], `namespaces allowed to list ${r}`);
  });
  perKind.esxihosts = new Set(hosts ? [ALL] : []);
  // A namespace's own card: for whoever may list Supervisor Namespaces, and for its users (who may
  // list anything in it), as the vSphere Client shows a namespace to those with access to it.
  const members = new Set<string>();
  for (const r of NAMESPACED) for (const ns of perKind[r]) members.add(ns);
  perKind.supervisornamespaces = svns ? new Set([ALL]) : members;
  const abilities: Abilities = { maintenance, vmPower: [...vmPower], scale: [...scale] };
  return {
    seesHosts: hosts,
    abilities,
    namespaces: perKind,
    visible: (row) => (row.res === "esxihosts" ? hosts : inScope(perKind[row.res], row.ns)),
    signature: JSON.stringify([
      hosts,
      abilities,
      (Object.keys(perKind) as RowResource[]).sort().map((r) => [r, [...perKind[r]].sort()]),
    ]),
  };
}
