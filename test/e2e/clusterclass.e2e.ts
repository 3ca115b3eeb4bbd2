// The ClusterClasses a Supervisor offers (docs/clusterclass.md), against the real API server with the
// chart installed and the manager running as the chart's ServiceAccount: `tanzukubernetescluster` in
// every Supervisor Namespace and `builtin-generic-v3.4.0` in vmware-system-vks-public, readable by
// tenants and never writable by them, put back when edited by hand; a Cluster whose topology does not
// fit its class refused by the chart's ValidatingAdmissionPolicy with the field's path; `kubectl get kr`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, ClusterResource } from "../../controllers/api/cluster/cluster.ts";
import { type ClusterClass, ClusterClassResource } from "../../controllers/api/cluster/clusterclass.ts";
import {
  namespaceClasses,
  PUBLIC_CLASS_NAMESPACE,
  publicClasses,
} from "../../controllers/api/clusterclasses.ts";
import {
  type SupervisorNamespace,
  SupervisorNamespaceResource,
} from "../../controllers/api/vsphere/supervisornamespace.ts";
import { KubeClient } from "../../controllers/runtime/client.ts";
import { apiStatus } from "../../controllers/runtime/errors.ts";
import type { Manager } from "../../controllers/runtime/manager.ts";
import { eventually, kubeConfig, uniqueName } from "./kube.ts";
import { expectNoForbidden, expectNoInvalid, startPacific } from "./pacific.ts";
import { kubectl } from "./tools.ts";

const kc = kubeConfig();
const admin = new KubeClient(kc);
const as = (user: string) =>
  new KubeClient(kc, {
    impersonate: { user: `sso:${user}@vsphere.local`, groups: ["system:authenticated"] },
  });
const alice = as("alice"); // Edit in the namespace
const dave = as("dave"); // no access to the namespace: just an authenticated user
const ns = uniqueName("cc");
const TKC = "tanzukubernetescluster";
const GENERIC = "builtin-generic-v3.4.0";
let mgr: Manager;

async function outcome(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
    return { code: 200, message: "" };
  } catch (e) {
    const s = apiStatus(e);
    return { code: s.code, message: s.message };
  }
}

const shipped = (name: string) => {
  const c = [...namespaceClasses, ...publicClasses].find((x) => x.metadata.name === name);
  if (!c) throw new Error(`${name} is not shipped`);
  return c;
};

beforeAll(async () => {
  mgr = await startPacific({ vipPool: "127.0.142.1-127.0.142.4" });
  await admin.create(SupervisorNamespaceResource, {
    apiVersion: "vsphere.pacific.dev/v1alpha1",
    kind: "SupervisorNamespace",
    metadata: { name: ns },
    spec: { access: [{ subjectType: "User", subject: "alice", role: "Edit" }] },
  } as SupervisorNamespace);
  await eventually(`${ns} Running`, async () => {
    const x = await admin.get<SupervisorNamespace>(SupervisorNamespaceResource, ns);
    return x.status?.configStatus === "Running" && x;
  });
});

afterAll(async () => {
  await admin.delete(SupervisorNamespaceResource, ns).catch(() => undefined);
  await mgr?.stop();
});

describe("the shipped ClusterClasses", () => {
  it("tanzukubernetescluster is published in a new Supervisor Namespace, owned by it", async () => {
    const cc = await eventually("the namespace's tanzukubernetescluster", () =>
      admin.get<ClusterClass>(ClusterClassResource, TKC, ns).catch(() => undefined),
    );
    expect(cc.spec).toEqual(shipped(TKC).spec);
    expect(cc.metadata.ownerReferences?.[0]).toMatchObject({
      kind: "SupervisorNamespace",
      name: ns,
      controller: true,
    });
    expect(cc.spec.variables?.filter((v) => v.required).map((v) => v.name)).toEqual([
      "vmClass",
      "storageClass",
    ]);
    expect(cc.spec.workers?.machineDeployments?.map((w) => w.class)).toEqual(["node-pool"]);
  });

  it("builtin-generic-v3.4.0 is published in vmware-system-vks-public", async () => {
    const cc = await eventually("the public builtin-generic class", () =>
      admin.get<ClusterClass>(ClusterClassResource, GENERIC, PUBLIC_CLASS_NAMESPACE).catch(() => undefined),
    );
    expect(cc.spec).toEqual(shipped(GENERIC).spec);
    expect(cc.spec.variables?.map((v) => v.name)).toEqual(
      expect.arrayContaining([
        "vmClass",
        "storageClass",
        "kubernetes",
        "node",
        "osConfiguration",
        "vsphereOptions",
      ]),
    );
  });

  it("a tenant reads them and cannot write them; an authenticated user reads the public ones only", async () => {
    await eventually("the namespace's class", () =>
      admin.get(ClusterClassResource, TKC, ns).catch(() => undefined),
    );
    expect((await alice.get<ClusterClass>(ClusterClassResource, TKC, ns)).metadata.name).toBe(TKC);
    expect((await alice.list<ClusterClass>(ClusterClassResource, { namespace: ns })).items.length).toBe(1);
    expect(
      (await alice.get<ClusterClass>(ClusterClassResource, GENERIC, PUBLIC_CLASS_NAMESPACE)).metadata.name,
    ).toBe(GENERIC);
    expect(
      (await dave.get<ClusterClass>(ClusterClassResource, GENERIC, PUBLIC_CLASS_NAMESPACE)).metadata.name,
    ).toBe(GENERIC);
    expect((await outcome(dave.get(ClusterClassResource, TKC, ns))).code).toBe(403);
    const edit = { spec: { variables: [] } };
    for (const [who, c, where] of [
      ["alice", alice, ns],
      ["alice", alice, PUBLIC_CLASS_NAMESPACE],
      ["dave", dave, PUBLIC_CLASS_NAMESPACE],
    ] as const) {
      const name = where === ns ? TKC : GENERIC;
      expect(
        (await outcome(c.patch(ClusterClassResource, name, where, edit))).code,
        `${who} patches in ${where}`,
      ).toBe(403);
      expect(
        (await outcome(c.delete(ClusterClassResource, name, where))).code,
        `${who} deletes in ${where}`,
      ).toBe(403);
      const mine = {
        apiVersion: "cluster.x-k8s.io/v1beta1",
        kind: "ClusterClass",
        metadata: { name: "mine", namespace: where },
        spec: {},
      };
      expect((await outcome(c.create(ClusterClassResource, mine))).code, `${who} creates in ${where}`).toBe(
        403,
      );
    }
  });

  it("a hand edit or deletion of a published class is put back", async () => {
    await eventually("the namespace's class", () =>
      admin.get(ClusterClassResource, TKC, ns).catch(() => undefined),
    );
    await admin.patch(ClusterClassResource, TKC, ns, {
      spec: { variables: [shipped(TKC).spec.variables?.[0]] },
    });
    await eventually("the variables restored", async () => {
      const cc = await admin.get<ClusterClass>(ClusterClassResource, TKC, ns);
      return cc.spec.variables?.length === shipped(TKC).spec.variables?.length && cc;
    });
    await admin.patch(ClusterClassResource, GENERIC, PUBLIC_CLASS_NAMESPACE, {
      spec: { patches: [{ name: "mine" }] },
    });
    await eventually("the public class restored", async () => {
      const cc = await admin.get<ClusterClass>(ClusterClassResource, GENERIC, PUBLIC_CLASS_NAMESPACE);
      return cc.spec.patches === undefined && cc;
    });
    await admin.patch(ClusterClassResource, TKC, ns, {
      metadata: { labels: { "app.kubernetes.io/managed-by": null } },
      spec: { variables: [] },
    });
    await eventually("an unlabelled class taken back", async () => {
      const cc = await admin.get<ClusterClass>(ClusterClassResource, TKC, ns);
      return (
        cc.metadata.labels?.["app.kubernetes.io/managed-by"] === "pacific" && cc.spec.variables?.length && cc
      );
    });
    await admin.delete(ClusterClassResource, TKC, ns);
    await eventually("the deleted class made again", async () => {
      const cc = await admin.get<ClusterClass>(ClusterClassResource, TKC, ns).catch(() => undefined);
      return cc && !cc.metadata.deletionTimestamp && cc;
    });
  });
});

// A good Cluster of each class, and the variants the policy refuses.
const vars = (...extra: object[]) => [
  { name: "vmClass", value: "best-effort-small" },
  { name: "storageClass", value: "vsan-default-storage-policy" },
  ...extra,
];
const pool = (o: object = {}) => ({ class: "node-pool", name: "np-1", replicas: 2, ...o });
const tkcTopology = (o: object = {}) => ({
  class: TKC,
  version: "v1.29.4---vmware.3-fips.1-tkg.1",
  controlPlane: { replicas: 3 },
  workers: { machineDeployments: [pool()] },
  variables: vars(),
  ...o,
});
const genericTopology = (o: object = {}) => ({
  ...tkcTopology({ class: GENERIC, classNamespace: PUBLIC_CLASS_NAMESPACE }),
  ...o,
});
const cluster = (name: string, topology: object): Cluster => ({
  apiVersion: "cluster.x-k8s.io/v1beta1",
  kind: "Cluster",
  metadata: { name, namespace: ns },
  spec: { topology } as Cluster["spec"],
});

interface Case {
  what: string;
  topology: object;
  /** Text the API server's message must contain: the field's path, and what is wrong. */
  says: string[];
}
const cases: Case[] = [
  {
    what: "an unknown variable",
    topology: tkcTopology({ variables: vars({ name: "gpu", value: true }) }),
    says: ["spec.topology.variables[gpu]: unknown variable of ClusterClass tanzukubernetescluster"],
  },
  {
    what: "a missing required variable",
    topology: tkcTopology({ variables: [{ name: "vmClass", value: "best-effort-small" }] }),
    says: [
      "spec.topology.variables[storageClass]: required variable of ClusterClass tanzukubernetescluster is missing",
    ],
  },
  {
    what: "a wrong enum (a taint effect)",
    topology: genericTopology({
      variables: vars({ name: "node", value: { taints: [{ key: "k", value: "v", effect: "Sometimes" }] } }),
    }),
    says: ["spec.topology.variables[node].value.taints[*].effect: must be one of", "NoSchedule"],
  },
  {
    what: "a wrong type",
    topology: tkcTopology({ variables: vars({ name: "ntp", value: 123 }) }),
    says: ["spec.topology.variables[ntp].value: must be a string"],
  },
  {
    what: "an unknown field in a variable's value",
    topology: genericTopology({
      variables: vars({ name: "osConfiguration", value: { ntp: { servers: ["a"] }, dns: {} } }),
    }),
    says: ["spec.topology.variables[osConfiguration].value.dns: unknown field"],
  },
  {
    what: "a required field of a variable's value missing",
    topology: genericTopology({ variables: vars({ name: "osConfiguration", value: { ntp: {} } }) }),
    says: ["spec.topology.variables[osConfiguration].value.ntp.servers: required"],
  },
  {
    what: "a minimum (certificate renewal days)",
    topology: genericTopology({
      variables: vars({ name: "kubernetes", value: { certificateRotation: { renewalDaysBeforeExpiry: 3 } } }),
    }),
    says: [
      "spec.topology.variables[kubernetes].value.certificateRotation.renewalDaysBeforeExpiry: must be at least 7",
    ],
  },
  {
    what: "an even control plane",
    topology: tkcTopology({ controlPlane: { replicas: 2 } }),
    says: ["spec.topology.controlPlane.replicas: must be odd, from 1 to 7", "got 2"],
  },
  {
    what: "a control plane of 9",
    topology: tkcTopology({ controlPlane: { replicas: 9 } }),
    says: ["spec.topology.controlPlane.replicas: must be odd, from 1 to 7", "got 9"],
  },
  {
    what: "an unknown class",
    topology: tkcTopology({ class: "builtin-generic-v9.9.9" }),
    says: ["spec.topology.class: unknown ClusterClass builtin-generic-v9.9.9", "tanzukubernetescluster"],
  },
  {
    what: "a foreign classNamespace",
    topology: tkcTopology({ classNamespace: "someone-elses" }),
    says: [
      "spec.topology.classNamespace: someone-elses is neither the Cluster's namespace nor vmware-system-vks-public",
    ],
  },
  {
    what: "the public class without its classNamespace",
    topology: genericTopology({ classNamespace: undefined }),
    says: [
      "spec.topology.classNamespace: ClusterClass builtin-generic-v3.4.0 is in vmware-system-vks-public",
    ],
  },
  {
    what: "tanzukubernetescluster looked for in vmware-system-vks-public",
    topology: tkcTopology({ classNamespace: PUBLIC_CLASS_NAMESPACE }),
    says: [
      "spec.topology.classNamespace: ClusterClass tanzukubernetescluster is in every Supervisor Namespace",
    ],
  },
  {
    what: "a pool of a class the ClusterClass has not",
    topology: tkcTopology({ workers: { machineDeployments: [pool({ class: "gpu-pool" })] } }),
    says: [
      "spec.topology.workers.machineDeployments[np-1].class: gpu-pool is not a worker class of ClusterClass tanzukubernetescluster",
    ],
  },
  {
    what: "a pool override of the wrong type",
    topology: tkcTopology({
      workers: {
        machineDeployments: [
          pool(),
          pool({ name: "np-2", variables: { overrides: [{ name: "vmClass", value: { cpu: 4 } }] } }),
        ],
      },
    }),
    says: [
      "spec.topology.workers.machineDeployments[np-2].variables.overrides[vmClass].value: must be a string",
    ],
  },
  {
    what: "a pool override of an unknown variable",
    topology: tkcTopology({
      workers: {
        machineDeployments: [pool({ variables: { overrides: [{ name: "vmClazz", value: "x" }] } })],
      },
    }),
    says: ["spec.topology.workers.machineDeployments[np-1].variables.overrides[vmClazz]: unknown variable"],
  },
  {
    what: "a control-plane override with a bad list item",
    topology: tkcTopology({
      controlPlane: {
        replicas: 1,
        variables: {
          overrides: [{ name: "controlPlaneVolumes", value: [{ name: "etcd", mountPath: "/var/lib/etcd" }] }],
        },
      },
    }),
    says: ["spec.topology.controlPlane.variables.overrides[controlPlaneVolumes].value[*].capacity: required"],
  },
];

describe("a Cluster's topology is checked against its class at admission", () => {
  it.each(cases)("refuses $what, naming the field", async ({ topology, says }) => {
    const r = await outcome(admin.create(ClusterResource, cluster(uniqueName("bad"), topology)));
    expect(r.code, r.message).toBe(422);
    for (const s of says) expect(r.message).toContain(s);
  });

  it("accepts a good Cluster of each class (and a later bad edit of it is refused, a label is not)", async () => {
    // Made by the Edit user, as a developer on vSphere 8 does.
    const good = await alice.create(
      ClusterResource,
      cluster(uniqueName("tkc"), {
        ...tkcTopology({
          variables: vars(
            { name: "nodePoolTaints", value: [{ key: "gpu", value: "true", effect: "NoSchedule" }] },
            {
              name: "controlPlaneVolumes",
              value: [{ name: "etcd", mountPath: "/var/lib/etcd", capacity: { storage: "4Gi" } }],
            },
            { name: "podSecurityStandard", value: { enforce: "restricted", deactivated: false } },
          ),
        }),
        workers: {
          machineDeployments: [
            pool(),
            pool({
              name: "np-2",
              variables: { overrides: [{ name: "vmClass", value: "best-effort-large" }] },
            }),
          ],
        },
      }),
    );
    await admin.create(
      ClusterResource,
      cluster(
        uniqueName("vks"),
        genericTopology({
          variables: vars(
            {
              name: "node",
              value: { labels: { tier: "web" }, taints: [{ key: "k", value: "v", effect: "NoExecute" }] },
            },
            {
              name: "osConfiguration",
              value: { ntp: { servers: ["time.example.com"] }, fips: { enabled: true } },
            },
            {
              name: "volumes",
              value: [
                {
                  name: "containerd",
                  mountPath: "/var/lib/containerd",
                  storageClass: "vsan",
                  capacity: "20Gi",
                },
              ],
            },
            { name: "vsphereOptions", value: { persistentVolumes: { defaultStorageClass: "vsan" } } },
            {
              name: "kubernetes",
              value: { certificateRotation: { enabled: true, renewalDaysBeforeExpiry: 30 } },
            },
          ),
        }),
      ),
    );
    const name = good.metadata.name ?? "";
    const bad = await outcome(
      admin.patch(ClusterResource, name, ns, { spec: { topology: { controlPlane: { replicas: 4 } } } }),
    );
    expect(bad.code, bad.message).toBe(422);
    expect(bad.message).toContain("spec.topology.controlPlane.replicas");
    await admin.patch(ClusterResource, name, ns, { metadata: { labels: { team: "a" } } });
  });

  it("kubectl get cluster shows ClusterClass, Phase, Age and Version", () => {
    const header = kubectl(["get", "cluster", "-n", ns]).split("\n")[0] ?? "";
    expect(header.split(/\s+/)).toEqual(["NAME", "CLUSTERCLASS", "PHASE", "AGE", "VERSION"]);
  });
});

describe("Kubernetes releases", () => {
  it("`kubectl get kr` lists what `kubectl get tkr` lists", async () => {
    const tkr = await eventually("releases", async () => {
      const out = kubectl(["get", "tkr", "-o", "name"]).trim();
      return out !== "" && out;
    });
    expect(kubectl(["get", "kr", "-o", "name"]).trim()).toBe(tkr);
  });

  it("the manager's requests were all allowed and valid", async () => {
    await expectNoForbidden(mgr);
    expectNoInvalid(mgr);
  });
});
