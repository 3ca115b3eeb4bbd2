// Unit tests of the UI's pure parts: rows from objects, alarms, the live inventory's batching,
// who sees what (a fake authorizer standing in for SubjectAccessReview), and action validation.
import type { EventsV1Event, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { ESXiHost } from "../api/vsphere/esxihost.ts";
import type { SupervisorNamespace } from "../api/vsphere/supervisornamespace.ts";
import type { VSpherePod } from "../api/vsphere/vspherepod.ts";
import type { KubeObject } from "../runtime/client.ts";
import type { Handler } from "../runtime/informer.ts";
import { must } from "../runtime/must.js";
import { Store } from "../runtime/store.ts";
import { zeroResources } from "../shared/quantity.ts";
import { parseAction } from "./actions.ts";
import type { Authorizer, ResourceAttributes, Viewer } from "./auth.ts";
import { LiveInventory, type RowChanges, type Source } from "./live.ts";
import { alarms, type Row } from "./model.ts";
import { eventRow, hostRow, hostState, namespaceRow, podRow } from "./rows.ts";
import { computeScope } from "./scope.ts";

const host = (
  name: string,
  o: Partial<ESXiHost["spec"]> = {},
  status: ESXiHost["status"] = {},
): ESXiHost => ({
  metadata: { name },
  spec: {
    clusterName: "c1",
    zone: "z",
    capacity: { cpu: 8, memory: "32Gi", pods: 110 },
    maintenanceMode: false,
    ...o,
  },
  status,
});
const pod = (ns: string, name: string, nodeName: string, cpu = "500m"): V1Pod => ({
  metadata: { namespace: ns, name },
  spec: { nodeName, containers: [{ name: "c", resources: { requests: { cpu, memory: "1Gi" } } }] },
  status: { phase: "Running" },
});

class FakeSource<T extends KubeObject> implements Source<T> {
  readonly store = new Store<T>();
  private readonly handlers: Handler<T>[] = [];
  addHandler(h: Handler<T>): void {
    this.handlers.push(h);
  }
  set(o: T): void {
    const old = this.store.set(o);
    for (const h of this.handlers) old ? h.update?.(old, o) : h.add?.(o);
  }
  remove(key: string): void {
    const old = this.store.delete(key);
    if (old) for (const h of this.handlers) h.delete?.(old);
  }
}

function sources() {
  return {
    hosts: new FakeSource<ESXiHost>(),
    pods: new FakeSource<V1Pod>(),
    vspherePods: new FakeSource<VSpherePod>(),
    namespaces: new FakeSource<SupervisorNamespace>(),
    events: new FakeSource<EventsV1Event>(),
    reservedOn: () => ({ resources: { cpuMilli: 2000, memory: 8 * 2 ** 30, pods: 0 }, objects: 1 }),
  };
}

describe("rows", () => {
  it("a host's state: connection first, then maintenance (entering until the host says it is in)", () => {
    expect(hostState(host("h"))).toBe("connected");
    expect(hostState(host("h", { maintenanceMode: true }))).toBe("enteringMaintenance");
    expect(hostState(host("h", { maintenanceMode: true }, { inMaintenanceMode: true }))).toBe("maintenance");
    expect(hostState(host("h", { maintenanceMode: true }, { connectionState: "notResponding" }))).toBe(
      "notResponding",
    );
  });

  it("a host's bars: capacity from the spec, VMs and pods from the inventory", () => {
    const r = hostRow(host("h"), {
      pods: { cpuMilli: 500, memory: 2 ** 30, pods: 1 },
      podCount: 1,
      vms: zeroResources,
      vmCount: 0,
    });
    expect(r.cpu).toEqual({ capacity: 8000, vms: 0, pods: 500 });
    expect(r.memory.capacity).toBe(32 * 2 ** 30);
  });

  it("a pod names the VSpherePod it runs for; only Warning events of Pacific's kinds become rows", () => {
    const p = pod("ns", "nginx-abc", "h");
    must(p.metadata, "pod metadata").ownerReferences = [
      { apiVersion: "vsphere.pacific.dev/v1alpha1", kind: "VSpherePod", name: "nginx", uid: "u" },
    ];
    expect(podRow(p)).toMatchObject({ id: "pod/ns/nginx-abc", host: "h", vspherePod: "nginx" });
    expect(podRow({ metadata: { namespace: "ns", name: "x" }, spec: { containers: [] } })).toBeUndefined();
    const ev = {
      metadata: { namespace: "default", name: "e1" },
      type: "Warning",
      reason: "NotResponding",
      note: "no heartbeat",
      eventTime: new Date("2026-01-01T00:00:00Z"),
      regarding: { apiVersion: "vsphere.pacific.dev/v1alpha1", kind: "ESXiHost", name: "h" },
    };
    expect(eventRow(ev)).toMatchObject({
      reason: "NotResponding",
      regarding: { kind: "ESXiHost", name: "h" },
    });
    expect(eventRow({ ...ev, type: "Normal" })).toBeUndefined();
    expect(eventRow({ ...ev, regarding: { apiVersion: "v1", kind: "Pod", name: "p" } })).toBeUndefined();
  });
});

describe("alarms", () => {
  it("hosts not responding, failed TKCs, namespaces over 90% of a limit", () => {
    const ns = namespaceRow({
      metadata: { name: "dev" },
      spec: {
        limits: { cpu: "10", memory: "10Gi" },
        networkIsolation: true,
        podSecurity: "restricted",
        encryption: false,
      },
      status: { usage: { cpu: "9500m", memory: "1Gi" } },
    });
    const rows: Row[] = [
      hostRow(host("h1", {}, { connectionState: "notResponding" }), {
        pods: zeroResources,
        podCount: 0,
        vms: zeroResources,
        vmCount: 0,
      }),
      ns,
      {
        id: "tkc/dev/t",
        res: "tanzukubernetesclusters",
        ns: "dev",
        name: "t",
        phase: "failed",
        version: "",
        controlPlane: { replicas: 1, vmClass: "x" },
        pools: [],
        nodesReady: 0,
        nodesTotal: 0,
      },
    ];
    expect(alarms(rows).map((a) => a.text)).toEqual([
      "Host h1 is not responding",
      "Namespace dev uses 95% of its cpu limit",
      "Tanzu Kubernetes cluster dev/t is failed",
    ]);
  });
});

describe("LiveInventory", () => {
  it("batches changes, sends only rows that changed, and moves a pod's requests to its host's bars", () => {
    const s = sources();
    const live = new LiveInventory(s, 1_000_000);
    const batches: RowChanges[] = [];
    live.subscribe((c) => batches.push(c));
    s.hosts.set(host("h1"));
    s.hosts.set(host("h2"));
    s.pods.set(pod("ns", "p1", "h1"));
    s.pods.set(pod("other", "p2", "not-an-esxi-node"));
    live.flush();
    expect(batches).toHaveLength(1);
    expect(
      must(batches[0], "batch 0")
        .upserts.map((r) => r.id)
        .sort(),
    ).toEqual(["host/h1", "host/h2", "pod/ns/p1"]);
    const h1 = must(batches[0], "batch 0").upserts.find((r) => r.id === "host/h1");
    expect(h1).toMatchObject({ cpu: { pods: 500, vms: 2000 }, podCount: 1, vmCount: 1 });

    // A resync (same object) sends nothing; moving the pod updates both hosts and the pod.
    s.hosts.set(host("h1"));
    live.flush();
    expect(batches).toHaveLength(1);
    s.pods.set(pod("ns", "p1", "h2"));
    live.flush();
    expect(
      must(batches[1], "batch 1")
        .upserts.map((r) => r.id)
        .sort(),
    ).toEqual(["host/h1", "host/h2", "pod/ns/p1"]);
    s.pods.remove("ns/p1");
    live.flush();
    expect(must(batches[2], "batch 2").deletes.map((r) => r.id)).toEqual(["pod/ns/p1"]);
    expect(
      live
        .snapshot()
        .map((r) => r.id)
        .sort(),
    ).toEqual(["host/h1", "host/h2"]);
    live.stop();
  });
});

describe("scope", () => {
  /** Allows what `rules` lists: "verb resource namespace|*". */
  const authz = (rules: string[]): Authorizer & { asked: ResourceAttributes[] } => {
    const asked: ResourceAttributes[] = [];
    return {
      asked,
      allowed: async (_v: Viewer, a: ResourceAttributes) => {
        asked.push(a);
        return rules.some((r) => {
          const [verb, res, ns] = r.split(" ");
          return verb === a.verb && res === a.resource && (ns === "*" ? true : a.namespace === ns);
        });
      },
    };
  };
  const viewer: Viewer = { user: "u", groups: [], token: "t" };
  const row = (res: Row["res"], ns?: string): Row => ({ id: `${res}/${ns}`, res, ns, name: "x" }) as Row;

  it("a View user of one namespace sees its rows and its namespace only, and may do nothing", async () => {
    const viewKinds = ["pods", "vspherepods", "virtualmachines", "tanzukubernetesclusters", "machines"];
    const s = await computeScope(viewer, authz(viewKinds.map((k) => `list ${k} dev`)), [
      "default",
      "dev",
      "prod",
    ]);
    expect(s.seesHosts).toBe(false);
    expect(s.abilities).toEqual({ maintenance: false, vmPower: [], scale: [] });
    expect(s.visible(row("vspherepods", "dev"))).toBe(true);
    expect(s.visible(row("vspherepods", "prod"))).toBe(false);
    expect(s.visible(row("supervisornamespaces", "dev"))).toBe(true);
    expect(s.visible(row("supervisornamespaces", "prod"))).toBe(false);
    expect(s.visible(row("esxihosts"))).toBe(false);
    expect(s.visible(row("events", "dev"))).toBe(false);
  });

  it("an admin is answered cluster-wide, without a review per namespace", async () => {
    const all = ["esxihosts", "supervisornamespaces", "pods", "vspherepods", "virtualmachines"];
    const a = authz([...all.map((k) => `list ${k} *`), "patch esxihosts *", "patch virtualmachines *"]);
    const s = await computeScope(viewer, a, ["default", "dev"]);
    expect(s.seesHosts).toBe(true);
    expect(s.abilities).toEqual({ maintenance: true, vmPower: ["*"], scale: [] });
    expect(s.visible(row("vspherepods", "anything"))).toBe(true);
    expect(a.asked.filter((x) => x.resource === "vspherepods" && x.namespace)).toEqual([]);
  });
});

describe("parseAction", () => {
  it("accepts the three actions and says why it refuses anything else", () => {
    expect(parseAction({ action: "maintenance", host: "esx-01", enabled: true })).toEqual({
      action: "maintenance",
      host: "esx-01",
      enabled: true,
    });
    expect(
      parseAction({ action: "scale", namespace: "dev", cluster: "t", pool: "p", replicas: 2 }),
    ).toMatchObject({
      replicas: 2,
    });
    expect(
      parseAction({ action: "power", namespace: "dev", vm: "v", powerState: "PoweredOff" }),
    ).toMatchObject({
      powerState: "PoweredOff",
    });
    expect(parseAction({ action: "maintenance", host: "../etc", enabled: true })).toMatch(/object name/);
    expect(parseAction({ action: "scale", namespace: "d", cluster: "t", pool: "p", replicas: 1.5 })).toMatch(
      /whole/,
    );
    expect(parseAction({ action: "power", namespace: "d", vm: "v", powerState: "Suspended" })).toMatch(
      /PoweredOn/,
    );
    expect(parseAction({ action: "delete" })).toMatch(/maintenance, power or scale/);
    expect(parseAction(null)).toMatch(/JSON object/);
  });
});
