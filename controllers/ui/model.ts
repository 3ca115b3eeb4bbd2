// The UI's view model: one small row per object the admin looks at, derived on the server from the
// informer caches (rows.ts) and streamed to the browser (live.ts, server.ts). The browser imports
// this file too (bundled by esbuild), so it holds types and pure functions only — no Node.js.

/** The resource a row is read from: what SubjectAccessReview asks about before a viewer sees it. */
export type RowResource =
  | "esxihosts"
  | "supervisornamespaces"
  | "pods"
  | "vspherepods"
  | "virtualmachines"
  | "virtualmachineservices"
  | "tanzukubernetesclusters"
  | "machines"
  | "events";

interface RowBase {
  /** Unique among rows: "<kind>/<namespace>/<name>" or "<kind>/<name>". */
  id: string;
  res: RowResource;
  /** Namespace of a namespaced object; a Supervisor Namespace's own name for its row. */
  ns?: string;
  name: string;
}

export type HostState =
  | "connected"
  | "notResponding"
  | "disconnected"
  | "maintenance"
  | "enteringMaintenance";

/** CPU in millicores, memory in bytes: what the host has and what VMs and pods reserve of it. */
export interface Usage {
  capacity: number;
  vms: number;
  pods: number;
}

export interface HostRow extends RowBase {
  res: "esxihosts";
  cluster: string;
  zone: string;
  state: HostState;
  maintenanceMode: boolean;
  cpu: Usage;
  memory: Usage;
  podCapacity: number;
  podCount: number;
  vmCount: number;
}

export interface PodRow extends RowBase {
  res: "pods";
  ns: string;
  host: string;
  phase: string;
  /** The VSpherePod this pod runs for, if any. */
  vspherePod?: string;
}

export interface VSpherePodRow extends RowBase {
  res: "vspherepods";
  ns: string;
  host?: string;
  phase: string;
  ip?: string;
  ready: boolean;
}

export interface VMRow extends RowBase {
  res: "virtualmachines";
  ns: string;
  className: string;
  /** What was asked for (spec) and what is (status). */
  powerState: string;
  observedPower?: string;
  host?: string;
  ip?: string;
  /** The Cluster API cluster the VM is a node of. */
  cluster?: string;
}

export interface NamespaceRow extends RowBase {
  res: "supervisornamespaces";
  ns: string;
  configStatus: string;
  /** Limits and usage: CPU in millicores, memory and storage in bytes; a limit of 0 is none. */
  limits: { cpu: number; memory: number; storage: number };
  usage: { cpu: number; memory: number; storage: number; pods: number };
  access: { subject: string; subjectType: string; role: string }[];
  storagePolicies: { name: string; limit: number; used: number }[];
  vmClasses: string[];
}

export interface NodePool {
  name: string;
  replicas: number;
  vmClass: string;
}

export interface TkcRow extends RowBase {
  res: "tanzukubernetesclusters";
  ns: string;
  phase: string;
  version: string;
  controlPlane: { replicas: number; vmClass: string };
  pools: NodePool[];
  nodesReady: number;
  nodesTotal: number;
  endpoint?: string;
}

export interface MachineRow extends RowBase {
  res: "machines";
  ns: string;
  cluster: string;
  /** "control-plane" or the node pool's name. */
  role: string;
  phase: string;
  version?: string;
  vm?: string;
}

export interface VipRow extends RowBase {
  res: "virtualmachineservices";
  ns: string;
  type: string;
  vip?: string;
  ports: string;
}

export interface EventRow extends RowBase {
  res: "events";
  ns: string;
  reason: string;
  note: string;
  regarding: { kind: string; name: string; namespace?: string };
  /** Milliseconds since the epoch of the latest occurrence. */
  time: number;
  count: number;
}

export type Row =
  | HostRow
  | PodRow
  | VSpherePodRow
  | VMRow
  | NamespaceRow
  | TkcRow
  | MachineRow
  | VipRow
  | EventRow;

/** What the viewer may do: shown as buttons; the API server decides again when it is pressed. */
export interface Abilities {
  /** May patch ESXiHosts (maintenance mode). */
  maintenance: boolean;
  /** Namespaces where the viewer may patch VirtualMachines (power). */
  vmPower: string[];
  /** Namespaces where the viewer may patch TanzuKubernetesClusters (scale a node pool). */
  scale: string[];
}

export interface SessionInfo {
  user: string;
  groups: string[];
  /** Sent back in the X-Pacific-CSRF header of every action. */
  csrf: string;
}

/** Server-sent events: a full snapshot on connect (and when the viewer's rights change), then changes. */
export interface Snapshot {
  rows: Row[];
  abilities: Abilities;
  /** May list ESXiHosts: the Hosts and Clusters view. */
  seesHosts: boolean;
}

export interface Changes {
  upserts: Row[];
  deletes: string[];
}

export type ActionRequest =
  | { action: "maintenance"; host: string; enabled: boolean }
  | { action: "power"; namespace: string; vm: string; powerState: "PoweredOn" | "PoweredOff" }
  | { action: "scale"; namespace: string; cluster: string; pool: string; replicas: number };

// ---------- alarms (pure: derived from rows in the browser and in tests) ----------

export interface Alarm {
  id: string;
  severity: "critical" | "warning";
  text: string;
  /** The row it is about (for a link). */
  rowId: string;
}

export const LIMIT_ALARM_RATIO = 0.9;

/** Hosts not responding, TKCs failed, namespaces over 90% of a limit. */
export function alarms(rows: Iterable<Row>): Alarm[] {
  const out: Alarm[] = [];
  for (const r of rows) {
    if (r.res === "esxihosts" && (r.state === "notResponding" || r.state === "disconnected")) {
      out.push({
        id: `alarm/${r.id}`,
        severity: "critical",
        text: `Host ${r.name} is ${r.state === "notResponding" ? "not responding" : "disconnected"}`,
        rowId: r.id,
      });
    } else if (r.res === "tanzukubernetesclusters" && (r.phase === "failed" || r.phase === "updateFailed")) {
      out.push({
        id: `alarm/${r.id}`,
        severity: "critical",
        text: `Tanzu Kubernetes cluster ${r.ns}/${r.name} is ${r.phase}`,
        rowId: r.id,
      });
    } else if (r.res === "supervisornamespaces") {
      for (const k of ["cpu", "memory", "storage"] as const) {
        const limit = r.limits[k];
        if (limit > 0 && r.usage[k] / limit > LIMIT_ALARM_RATIO)
          out.push({
            id: `alarm/${r.id}/${k}`,
            severity: "warning",
            text: `Namespace ${r.name} uses ${Math.round((100 * r.usage[k]) / limit)}% of its ${k} limit`,
            rowId: r.id,
          });
      }
    }
  }
  return out;
}

// ---------- formatting shared by the views ----------

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** Host CPU "cores": 32 cores, not "GHz" (Pacific's capacity is in Kubernetes CPUs). */
export function formatCores(milli: number): string {
  return `${Number.isInteger(milli / 1000) ? milli / 1000 : (milli / 1000).toFixed(1)} CPU`;
}
