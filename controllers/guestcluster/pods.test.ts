// The pods runtime's rendered objects: names, owner, images per version, the components' flags
// (the local runtime's, with the pod's paths and addresses), every file a flag names mounted from
// the Secret, probes, the PVC, the Service on the VIP; and the runtime applying them once.
import type { V1Container, V1Secret, V1StatefulSet } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { KubeObject, PatchOptions } from "../runtime/client.ts";
import type { ResourceType } from "../runtime/resource.ts";
import { Store } from "../runtime/store.ts";
import {
  COMPONENTS,
  CONTROL_PLANE_FILE_NAMES,
  type ControlPlaneFiles,
  controlPlaneFiles,
  type GuestSpec,
} from "./controlplane.ts";
import { localArgs } from "./local.ts";
import { type ClusterPki, newClusterPki, subjectAltNames, verifyLeaf } from "./pki.ts";
import {
  CONFIG_DIR,
  ETCD_DIR,
  etcdTag,
  filesFromSecret,
  type HostedControlPlane,
  hostedNames,
  imageOf,
  POD_FIELD_MANAGER,
  podsLayout,
  renderHostedControlPlane,
  upstreamVersion,
} from "./pods.ts";
import { PodsGuestRuntime } from "./podsruntime.ts";

const OWNER = { apiVersion: "cluster.x-k8s.io/v1beta1", kind: "Cluster", name: "tkc-1", uid: "uid-1" };
let pki: ClusterPki;
let spec: GuestSpec;
let files: ControlPlaneFiles;
let objs: HostedControlPlane;

beforeAll(async () => {
  pki = await newClusterPki();
  spec = {
    namespace: "ns-1",
    name: "tkc-1",
    vip: "192.168.128.7", // data only: nothing here dials it
    pki,
    serviceCidr: "10.96.0.0/12",
    podCidr: "192.168.0.0/16",
  };
  files = await controlPlaneFiles(spec, podsLayout(spec));
  objs = renderHostedControlPlane({
    spec,
    owner: OWNER,
    kubernetesVersion: "v1.33.1+vmware.1",
    files,
    storageClass: "vsan-default",
  });
});

const podSpec = (s: V1StatefulSet) => s.spec?.template.spec;
const containerOf = (c: string): V1Container => {
  const found = podSpec(objs.statefulSet)?.containers.find((x) => x.name === c);
  if (!found) throw new Error(`no container ${c}`);
  return found;
};
/** The value after `flag` in a command line. */
const flag = (cmd: string[] | undefined, f: string) => cmd?.[(cmd?.indexOf(f) ?? -2) + 1];
const flagNames = (args: string[]) => args.filter((a) => a.startsWith("--")).map((a) => a.split("=")[0]);
const secretText = (s: V1Secret, key: string) => Buffer.from(s.data?.[key] ?? "", "base64").toString("utf8");

describe("versions and images", () => {
  it("maps a TKR version to the upstream tag and etcd to kubeadm's for the minor", () => {
    expect(upstreamVersion("v1.33.1+vmware.1")).toBe("v1.33.1");
    expect(upstreamVersion("v1.23.8+vmware.3-tkg.1")).toBe("v1.23.8");
    expect(upstreamVersion("1.30.11")).toBe("v1.30.11");
    expect(() => upstreamVersion("latest")).toThrow(/not a Kubernetes version/);
    expect(etcdTag("v1.23.8+vmware.3")).toBe("3.5.12-0");
    expect(etcdTag("v1.30.11")).toBe("3.5.15-0");
    expect(etcdTag("v1.33.1+vmware.1")).toBe("3.5.24-0");
    expect(etcdTag("v1.34.2+vmware.2")).toBe("3.6.5-0");
    expect(etcdTag("v1.37.2+vmware.1")).toBe("3.7.0-0");
    expect(etcdTag("v1.40.0")).toBe("3.7.0-0"); // past the table: the nearest minor's
    expect(etcdTag("v1.20.1")).toBe("3.5.12-0");
    expect(imageOf("kube-apiserver", "v1.26.5+vmware.2-fips.1")).toBe(
      "registry.k8s.io/kube-apiserver:v1.26.5",
    );
  });

  it("runs every component from its upstream image of the Cluster's version", () => {
    expect(podSpec(objs.statefulSet)?.containers.map((c) => [c.name, c.image])).toEqual([
      ["etcd", "registry.k8s.io/etcd:3.5.24-0"],
      ["kube-apiserver", "registry.k8s.io/kube-apiserver:v1.33.1"],
      ["kube-controller-manager", "registry.k8s.io/kube-controller-manager:v1.33.1"],
      ["kube-scheduler", "registry.k8s.io/kube-scheduler:v1.33.1"],
    ]);
  });
});

describe("the rendered objects", () => {
  it("are named after the cluster, in its namespace, owned by the Cluster", () => {
    const all = [objs.secret, objs.statefulSet, objs.service];
    expect(all.map((o) => `${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`)).toEqual([
      "Secret/ns-1/tkc-1-control-plane-certs",
      "StatefulSet/ns-1/tkc-1-control-plane",
      "Service/ns-1/tkc-1-control-plane",
    ]);
    for (const o of all) {
      expect(o.metadata?.ownerReferences).toEqual([{ ...OWNER, controller: true, blockOwnerDeletion: true }]);
      expect(o.metadata?.labels?.["cluster.x-k8s.io/cluster-name"]).toBe("tkc-1");
    }
    expect(objs.statefulSet.spec?.replicas).toBe(1);
  });

  it("gives each component the local runtime's flags, with the pod's paths and addresses", () => {
    for (const c of COMPONENTS) {
      const cmd = containerOf(c).command ?? [];
      expect(cmd[0]).toBe(c);
      const local = flagNames(localArgs(spec, "/state/ns-1/tkc-1", c)).filter(
        (f) => f !== "--unsafe-no-fsync",
      );
      const extra = c === "etcd" ? ["--listen-metrics-urls"] : [];
      expect(flagNames(cmd.slice(1))).toEqual([...local, ...extra]);
    }
    const api = containerOf("kube-apiserver").command;
    expect(flag(api, "--etcd-servers")).toBe("https://127.0.0.1:2379");
    expect(flag(api, "--bind-address")).toBe("0.0.0.0");
    expect(flag(api, "--advertise-address")).toBe("192.168.128.7");
    expect(flag(api, "--service-cluster-ip-range")).toBe("10.96.0.0/12");
    expect(flag(api, "--client-ca-file")).toBe("/etc/kubernetes/pki/ca.crt");
    const etcd = containerOf("etcd").command;
    expect(flag(etcd, "--listen-client-urls")).toBe("https://127.0.0.1:2379");
    expect(flag(etcd, "--data-dir")).toBe(`${ETCD_DIR}/data`);
    expect(etcd).not.toContain("--unsafe-no-fsync"); // its data is on a PVC: fsync stays
    expect(flag(containerOf("kube-controller-manager").command, "--cluster-cidr")).toBe("192.168.0.0/16");
  });

  it("mounts every file a flag names: the Secret's keys at the paths the flags use", () => {
    const vol = podSpec(objs.statefulSet)?.volumes?.find((v) => v.name === "certs");
    expect(vol?.secret?.secretName).toBe(objs.secret.metadata?.name);
    const mounted = new Map((vol?.secret?.items ?? []).map((i) => [`${CONFIG_DIR}/${i.path}`, i.key]));
    for (const c of COMPONENTS) {
      const container = containerOf(c);
      expect(container.volumeMounts).toContainEqual({ name: "certs", mountPath: CONFIG_DIR, readOnly: true });
      for (const path of (container.command ?? []).filter((a) => a.startsWith(`${CONFIG_DIR}/`))) {
        const key = mounted.get(path);
        expect(key, `${c}: ${path} is not mounted`).toBeDefined();
        expect(objs.secret.data?.[key ?? ""], `${c}: ${path} has no data`).toBeTruthy();
      }
    }
    // The scheduler's configuration names its kubeconfig at its mounted path.
    const sched = parse(secretText(objs.secret, "kube-scheduler.yaml"));
    expect(mounted.get(sched.clientConnection.kubeconfig)).toBe("kube-scheduler.kubeconfig");
    expect(containerOf("etcd").volumeMounts).toContainEqual({ name: "etcd-data", mountPath: ETCD_DIR });
  });

  it("holds certificates signed by the cluster CAs, for the VIP and the pod's loopback", async () => {
    const s = objs.secret;
    expect(Object.keys(s.data ?? {}).sort()).toEqual(
      [...CONTROL_PLANE_FILE_NAMES.pki, ...CONTROL_PLANE_FILE_NAMES.config].sort(),
    );
    const serving = secretText(s, "apiserver.crt");
    expect(await verifyLeaf(serving, pki.ca.cert)).toBe(true);
    expect(subjectAltNames(serving)).toEqual(
      expect.arrayContaining(["192.168.128.7", "10.96.0.1", "127.0.0.1", "tkc-1-control-plane.ns-1.svc"]),
    );
    expect(await verifyLeaf(secretText(s, "etcd-server.crt"), pki.etcd.cert)).toBe(true);
    expect(subjectAltNames(secretText(s, "etcd-server.crt"))).toContain("127.0.0.1");
    const server = (key: string) => parse(secretText(s, key)).clusters[0].cluster.server;
    expect(server("admin.kubeconfig")).toBe("https://192.168.128.7:6443");
    expect(server("kube-controller-manager.kubeconfig")).toBe("https://127.0.0.1:6443");
    expect(server("kube-scheduler.kubeconfig")).toBe("https://127.0.0.1:6443");
  });

  it("probes the API server's /readyz and /livez, etcd's health by its version", () => {
    const api = containerOf("kube-apiserver");
    expect(api.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: 6443, scheme: "HTTPS" });
    expect(api.livenessProbe?.httpGet).toEqual({ path: "/livez", port: 6443, scheme: "HTTPS" });
    expect(api.startupProbe?.httpGet?.path).toBe("/livez");
    expect(containerOf("etcd").readinessProbe?.httpGet).toEqual({
      path: "/health?serializable=false",
      port: 2381,
      scheme: "HTTP",
    });
    const v134 = renderHostedControlPlane({
      spec,
      owner: OWNER,
      kubernetesVersion: "v1.34.2+vmware.2",
      files,
    });
    const etcd134 = v134.statefulSet.spec?.template.spec?.containers.find((c) => c.name === "etcd");
    expect(etcd134?.readinessProbe?.httpGet?.path).toBe("/readyz");
    expect(etcd134?.livenessProbe?.httpGet?.path).toBe("/livez");
    expect(containerOf("kube-controller-manager").livenessProbe?.httpGet?.port).toBe(10257);
    expect(containerOf("kube-scheduler").livenessProbe?.httpGet?.port).toBe(10259);
  });

  it("asks resources and runs as non-root without privileges", () => {
    const pod = podSpec(objs.statefulSet);
    expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, fsGroup: 65532 });
    expect(pod?.automountServiceAccountToken).toBe(false);
    for (const c of COMPONENTS) {
      const x = containerOf(c);
      expect(x.resources?.requests?.cpu, c).toMatch(/^\d+m$/);
      expect(x.resources?.requests?.memory, c).toMatch(/^\d+Mi$/);
      expect(x.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
      });
    }
  });

  it("keeps etcd's data on a PVC of the control plane's class, removed with the StatefulSet", () => {
    const s = objs.statefulSet.spec;
    expect(s?.volumeClaimTemplates?.map((t) => [t.metadata?.name, t.spec])).toEqual([
      [
        "etcd-data",
        {
          accessModes: ["ReadWriteOnce"],
          storageClassName: "vsan-default",
          resources: { requests: { storage: "1Gi" } },
        },
      ],
    ]);
    expect(s?.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Delete", whenScaled: "Retain" });
    const noClass = renderHostedControlPlane({ spec, owner: OWNER, kubernetesVersion: "v1.33.1", files });
    expect(noClass.statefulSet.spec?.volumeClaimTemplates?.[0]?.spec?.storageClassName).toBeUndefined();
  });

  it("serves on the VIP: a LoadBalancer Service on 6443 selecting the StatefulSet's pod", () => {
    const svc = objs.service.spec;
    expect(svc?.type).toBe("LoadBalancer");
    expect(svc?.loadBalancerIP).toBe("192.168.128.7");
    expect(svc?.ports).toEqual([{ name: "https", protocol: "TCP", port: 6443, targetPort: "https" }]);
    const podLabels = objs.statefulSet.spec?.template.metadata?.labels ?? {};
    expect(Object.entries(svc?.selector ?? {}).every(([k, v]) => podLabels[k] === v)).toBe(true);
    expect(objs.statefulSet.spec?.selector.matchLabels).toEqual(svc?.selector);
    expect(containerOf("kube-apiserver").ports).toEqual([{ name: "https", containerPort: 6443 }]);
  });

  it("reads its files back from the Secret, and refuses an incomplete one", () => {
    expect(filesFromSecret(objs.secret)).toEqual(files);
    const { "sa.key": _, ...rest } = objs.secret.data ?? {};
    expect(filesFromSecret({ ...objs.secret, data: rest })).toBeUndefined();
    expect(filesFromSecret(undefined)).toBeUndefined();
  });
});

describe("PodsGuestRuntime", () => {
  /** The patches the runtime sends (the manager's client, recorded). */
  class Recorder {
    readonly sent: Array<{ kind: string; name: string; o: PatchOptions; body: KubeObject }> = [];
    async patch<T extends KubeObject>(
      rt: ResourceType<T>,
      name: string,
      _ns: string | undefined,
      body: object,
      o: PatchOptions = {},
    ): Promise<T> {
      this.sent.push({ kind: rt.kind, name, o, body: body as KubeObject });
      return body as T;
    }
  }

  const hosted = (): GuestSpec => ({
    ...spec,
    vip: "127.0.102.1", // loopback: the probe below dials it, and nothing listens there
    owner: OWNER,
    kubernetesVersion: "v1.33.1+vmware.1",
  });

  it("applies the Secret, StatefulSet and Service once, server-side, as pacific-guest-cluster", async () => {
    const client = new Recorder();
    const secrets = new Store<V1Secret>();
    const rt = new PodsGuestRuntime(client, secrets);
    expect((await rt.ensure(hosted())).started).toEqual([...COMPONENTS]);
    expect(client.sent.map((s) => `${s.kind}/${s.name}`)).toEqual([
      "Secret/tkc-1-control-plane-certs",
      "StatefulSet/tkc-1-control-plane",
      "Service/tkc-1-control-plane",
    ]);
    for (const s of client.sent)
      expect(s.o).toEqual({ type: "apply", fieldManager: POD_FIELD_MANAGER, force: true });
    // A resync: the same objects, nothing sent.
    expect((await rt.ensure(hosted())).adopted).toEqual([...COMPONENTS]);
    expect(client.sent).toHaveLength(3);

    // A restarted manager reads the certificates back from the Secret: the same Secret, not re-signed.
    const applied = client.sent[0]?.body as V1Secret;
    secrets.set(applied);
    const again = new Recorder();
    await new PodsGuestRuntime(again, secrets).ensure(hosted());
    expect((again.sent[0]?.body as V1Secret | undefined)?.data).toEqual(applied.data);
    expect(hostedNames.secret("tkc-1")).toBe(applied.metadata?.name);

    // Nothing answers at the VIP here: not ready.
    expect(await rt.ready(hosted())).toBe(false);
  });

  it("signs anew for another cluster CA (a Cluster recreated under the same name)", async () => {
    const client = new Recorder();
    const secrets = new Store<V1Secret>();
    const rt = new PodsGuestRuntime(client, secrets);
    await rt.ensure(hosted());
    const first = client.sent[0]?.body as V1Secret;
    secrets.set(first);
    await rt.ensure({ ...hosted(), pki: await newClusterPki() });
    const second = client.sent[3]?.body as V1Secret;
    expect(second.kind).toBe("Secret");
    expect(secretText(second, "ca.crt")).not.toBe(secretText(first, "ca.crt"));
  });

  it("refuses a spec without the Cluster's uid or version", async () => {
    const rt = new PodsGuestRuntime(new Recorder(), new Store<V1Secret>());
    await expect(rt.ensure(spec)).rejects.toThrow(/uid and Kubernetes version/);
  });
});
