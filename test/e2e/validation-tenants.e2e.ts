// Hostile input a tenant (or an admin's typo) gives, refused by the API server with a message that
// names the field (issue 19, findings 9-11): strings bounded at Kubernetes' own limits, quantities
// checked as quantities, defaults that are negative or above the limits they sit under.
// Only the CRDs and the chart are needed: no manager runs.
import { describe, expect, it } from "vitest";
import { ClusterResource } from "../../controllers/api/cluster/cluster.ts";
import { MachineResource } from "../../controllers/api/cluster/machine.ts";
import { TanzuKubernetesClusterResource } from "../../controllers/api/run/tanzukubernetescluster.ts";
import { VirtualMachineClassResource } from "../../controllers/api/vmoperator/virtualmachineclass.ts";
import { ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { SupervisorNamespaceResource } from "../../controllers/api/vsphere/supervisornamespace.ts";
import { VSpherePodResource } from "../../controllers/api/vsphere/vspherepod.ts";
import { KubeClient } from "../../controllers/runtime/client.ts";
import { apiStatus } from "../../controllers/runtime/errors.ts";
import type { ResourceType } from "../../controllers/runtime/resource.ts";
import { kubeConfig, uniqueName } from "./kube.ts";

const client = new KubeClient(kubeConfig());

interface Case {
  what: string;
  rt: ResourceType;
  spec: unknown;
  /** Text the API server's message must contain. */
  says: string;
}

const c =
  (rt: ResourceType) =>
  (what: string, spec: unknown, says: string): Case => ({ what, rt, spec, says });
const vpod = c(VSpherePodResource);
const svns = c(SupervisorNamespaceResource);
const esx = c(ESXiHostResource);
const vmclass = c(VirtualMachineClassResource);
const tkc = c(TanzuKubernetesClusterResource);
const cluster = c(ClusterResource);
const machine = c(MachineResource);

const container = (o: object) => ({
  template: { spec: { containers: [{ name: "c", image: "nginx", ...o }] } },
});
const withLabels = (labels: Record<string, string>) => ({
  template: { metadata: { labels }, spec: { containers: [{ name: "c", image: "nginx" }] } },
});
const cp = {
  replicas: 1,
  vmClass: "best-effort-small",
  storageClass: "vsan",
  tkr: { reference: { name: "v1.23.8---vmware.3-tkg.1" } },
};
const ref = (o: object) => ({ apiVersion: "v1", kind: "ConfigMap", name: "x", ...o });
const cap = { cpu: 8, memory: "32Gi" };

const cases: Case[] = [
  // 9. Every user string is bounded.
  vpod(
    "an image name of 800,000 characters",
    container({ image: `registry.example.com/${"a".repeat(800_000)}` }),
    "spec.template.spec.containers[0].image: Too long",
  ),
  vpod(
    "an init container's image of 521 characters",
    {
      template: {
        spec: {
          containers: [{ name: "c", image: "nginx" }],
          initContainers: [{ name: "i", image: "i".repeat(521) }],
        },
      },
    },
    "spec.template.spec.initContainers[0].image: Too long",
  ),
  vpod("a label value of 64 characters", withLabels({ app: "v".repeat(64) }), "Too long"),
  vpod(
    "a label key of 318 characters",
    withLabels({ ["k".repeat(318)]: "v" }),
    "a label key has at most 317 characters",
  ),
  vpod(
    "a quantity of 65 characters",
    container({ resources: { requests: { cpu: `0.${"1".repeat(63)}` } } }),
    "Too long",
  ),
  esx(
    "a pod CIDR of 19 characters",
    { capacity: cap, podCIDR: "010.244.003.000/024" },
    "spec.podCIDR: Too long",
  ),
  esx(
    "a pod start delay of 34 characters",
    { capacity: cap, simulation: { podStartDelay: "1s".repeat(17) } },
    "spec.simulation.podStartDelay: Too long",
  ),
  tkc(
    "a trusted CA of 65,537 characters",
    {
      topology: { controlPlane: cp },
      settings: { network: { trust: { additionalTrustedCAs: [{ name: "ca", data: "A".repeat(65_537) }] } } },
    },
    "additionalTrustedCAs[0].data: Too long",
  ),
  cluster(
    "a control-plane reference name of 254 characters",
    { controlPlaneRef: ref({ name: "n".repeat(254) }) },
    "spec.controlPlaneRef.name: Too long",
  ),
  machine(
    "an infrastructure reference kind of 64 characters",
    {
      clusterName: "c",
      bootstrap: { dataSecretName: "s" },
      infrastructureRef: ref({ kind: "K".repeat(64) }),
    },
    "spec.infrastructureRef.kind: Too long",
  ),
  // 10. Quantities are quantities.
  vpod(
    "cpu: lots",
    container({ resources: { requests: { cpu: "lots" } } }),
    "must be a non-negative quantity",
  ),
  vpod(
    "a negative memory limit",
    container({ resources: { limits: { memory: "-1Gi" } } }),
    "must be a non-negative quantity",
  ),
  vmclass(
    "a VM class reserving 'lots' of CPU",
    { hardware: { cpus: 2, memory: "4Gi" }, policies: { resources: { requests: { cpu: "lots" } } } },
    "must be a non-negative quantity",
  ),
  // 11. Defaults that are negative or inconsistent.
  svns(
    "a negative default CPU request",
    { defaults: { requests: { cpu: "-1" } } },
    "defaults.requests.cpu must be a non-negative quantity",
  ),
  svns(
    "a negative default memory limit",
    { defaults: { limits: { memory: "-5Mi" } } },
    "defaults.limits.memory must be a non-negative quantity",
  ),
  svns(
    "a default CPU limit above the namespace's CPU limit",
    { limits: { cpu: "2" }, defaults: { limits: { cpu: "4" } } },
    "defaults.limits.cpu must not exceed limits.cpu",
  ),
  svns(
    "a default memory request above the namespace's memory limit",
    { limits: { memory: "4Gi" }, defaults: { requests: { memory: "8Gi" } } },
    "defaults.requests.memory must not exceed limits.memory",
  ),
  svns("a CPU limit given as a 65-character string", { limits: { cpu: "1".repeat(65) } }, "Too long"),
];

async function create(
  rt: ResourceType,
  name: string,
  spec: unknown,
): Promise<{ code: number; message: string }> {
  const body = {
    apiVersion: `${rt.group}/${rt.version}`,
    kind: rt.kind,
    metadata: { name, ...(rt.namespaced ? { namespace: "default" } : {}) },
    spec,
  };
  try {
    await client.create(rt, body);
    return { code: 200, message: "" };
  } catch (e) {
    return apiStatus(e);
  }
}

describe("hostile input is refused by the API server, naming the field (findings 9-11)", () => {
  it.each(cases)("$rt.kind: $what", async (k) => {
    const name = uniqueName("bad");
    const r = await create(k.rt, name, k.spec);
    if (r.code === 200) await client.delete(k.rt, name, k.rt.namespaced ? "default" : undefined);
    expect(r.code, `accepted: ${JSON.stringify(k.spec).slice(0, 200)}`).toBe(422);
    expect(r.message).toContain(k.says);
  });

  it("still accepts what is valid at the limits: a 520-character image, integer and decimal quantities, defaults up to the limits", async () => {
    const image = `${"r".repeat(250)}.io/${"p".repeat(0)}a:${"t".repeat(128)}@sha512:${"f".repeat(128)}`;
    expect(image.length).toBeLessThanOrEqual(520);
    const ok: Array<[ResourceType, unknown]> = [
      [
        VSpherePodResource,
        {
          template: {
            metadata: { labels: { [`${"p".repeat(253)}/${"n".repeat(63)}`]: "v".repeat(63) } },
            spec: {
              containers: [
                {
                  name: "c",
                  image,
                  resources: { requests: { cpu: 2, memory: "1.5Gi" }, limits: { cpu: "2500m" } },
                },
              ],
            },
          },
        },
      ],
      [
        SupervisorNamespaceResource,
        {
          limits: { cpu: 4, memory: "8Gi" },
          defaults: { requests: { cpu: "4" }, limits: { memory: "8Gi" } },
        },
      ],
    ];
    for (const [rt, spec] of ok) {
      const name = uniqueName("ok");
      const r = await create(rt, name, spec);
      expect(r, `${rt.kind} ${JSON.stringify(spec).slice(0, 200)}`).toEqual({ code: 200, message: "" });
      await client.delete(rt, name, rt.namespaced ? "default" : undefined);
    }
  });
});
