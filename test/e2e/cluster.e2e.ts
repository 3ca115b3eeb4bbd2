// Proves the control plane under test is real and complete: CRDs with schemas, watches, the
// controller-manager's controllers (deployment, namespace, garbage collector, service accounts)
// and RBAC with service-account tokens. Runs against whatever KUBECONFIG points at.
import * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { eventually, isNotFound, kubeConfig, statusCode, uniqueName } from "./kube.ts";

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const ns = uniqueName("e2e-cluster");
const host = {
  group: ESXiHostResource.group,
  version: ESXiHostResource.version,
  plural: ESXiHostResource.plural,
};

beforeAll(async () => {
  await core.createNamespace({ body: { metadata: { name: ns } } });
});

afterAll(async () => {
  await core.deleteNamespace({ name: ns }).catch(() => undefined);
});

describe("the API server", () => {
  it("reports the pinned Kubernetes version and is ready", async () => {
    const version = await kc.makeApiClient(k8s.VersionApi).getCode();
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+/);
    expect(version.gitVersion).not.toBe("v0.0.0");
  });

  it("serves a CRD the chart installed from crds/: create, read and watch a custom resource", async () => {
    const name = uniqueName("esx");
    const seen: string[] = [];
    let watchEnded: unknown;
    // A just-established CRD can take a moment before its endpoint serves lists and watches.
    await eventually("the ESXiHost endpoint serves lists", () => custom.listClusterCustomObject(host));
    const watch = new k8s.Watch(kc);
    const abort = await watch.watch(
      `/apis/${host.group}/${host.version}/${host.plural}`,
      { fieldSelector: `metadata.name=${name}` },
      (type) => seen.push(type),
      (err) => {
        watchEnded = err ?? "ended";
      },
    );
    try {
      await custom.createClusterCustomObject({
        ...host,
        body: {
          apiVersion: `${host.group}/${host.version}`,
          kind: "ESXiHost",
          metadata: { name },
          spec: { capacity: { cpu: 16, memory: "64Gi" } },
        },
      });
      const got = (await custom.getClusterCustomObject({ ...host, name })) as {
        spec: { zone: string; capacity: { pods: number } };
      };
      // Defaults from the schema are applied by the API server.
      expect(got.spec.zone).toBe("zone-1");
      expect(got.spec.capacity.pods).toBe(110);
      await custom.deleteClusterCustomObject({ ...host, name });
      await eventually("watch saw ADDED and DELETED", async () => {
        if (watchEnded) throw new Error(`the watch ended early: ${String(watchEnded)}`);
        return seen.includes("ADDED") && seen.includes("DELETED");
      });
    } finally {
      abort.abort();
    }
  });

  it("rejects an invalid custom resource by its schema, naming the field", async () => {
    const bad = async (spec: object) => {
      try {
        await custom.createClusterCustomObject({
          ...host,
          body: {
            apiVersion: `${host.group}/${host.version}`,
            kind: "ESXiHost",
            metadata: { name: uniqueName("bad") },
            spec,
          },
        });
        return "accepted";
      } catch (e) {
        expect(statusCode(e)).toBe(422);
        return String((e as k8s.ApiException<string>).body);
      }
    };
    expect(await bad({ capacity: { cpu: "-2", memory: "64Gi" } })).toContain(
      "capacity.cpu must be a positive quantity",
    );
    expect(await bad({ capacity: { cpu: 4 } })).toContain("spec.capacity.memory: Required value");
    expect(await bad({ capacity: { cpu: 4, memory: "1Gi" }, zone: "Zone A" })).toContain("spec.zone");
  });
});

describe("kube-controller-manager", () => {
  it("gives a Deployment a ReplicaSet (deployment controller)", async () => {
    const labels = { app: "web" };
    const d = await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: "web", image: "nginx" }] } },
        },
      },
    });
    const rs = await eventually("a ReplicaSet owned by the Deployment", async () => {
      const list = await apps.listNamespacedReplicaSet({ namespace: ns });
      return list.items.find((r) => r.metadata?.ownerReferences?.some((o) => o.uid === d.metadata?.uid));
    });
    expect(rs.spec?.replicas).toBe(1);
  });

  it("finishes deleting a namespace with content (namespace controller)", async () => {
    const name = uniqueName("e2e-doomed");
    await core.createNamespace({ body: { metadata: { name } } });
    await core.createNamespacedConfigMap({
      namespace: name,
      body: { metadata: { name: "content" }, data: { a: "b" } },
    });
    await core.deleteNamespace({ name });
    await eventually(`namespace ${name} gone`, async () => {
      try {
        await core.readNamespace({ name });
        return false;
      } catch (e) {
        return isNotFound(e);
      }
    });
  });

  it("deletes a child when its owner goes (garbage collector)", async () => {
    const owner = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "owner" } },
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: {
          name: "child",
          ownerReferences: [
            { apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata!.uid! },
          ],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: "owner" });
    await eventually("child ConfigMap collected", async () => {
      try {
        await core.readNamespacedConfigMap({ namespace: ns, name: "child" });
        return false;
      } catch (e) {
        return isNotFound(e);
      }
    });
  });
});

describe("authentication and RBAC", () => {
  it("authenticates a ServiceAccount token and denies what it was not granted", async () => {
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: "reader" } } });
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: "read-configmaps" },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: "reader" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "read-configmaps" },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace: ns }],
      },
    });
    const token = await core.createNamespacedServiceAccountToken({
      namespace: ns,
      name: "reader",
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const saKc = new k8s.KubeConfig();
    const cluster = kc.getCurrentCluster()!;
    saKc.loadFromOptions({
      clusters: [cluster],
      users: [{ name: "reader", token: token.status!.token }],
      contexts: [{ name: "reader", cluster: cluster.name, user: "reader" }],
      currentContext: "reader",
    });
    const asReader = saKc.makeApiClient(k8s.CoreV1Api);
    await eventually("the RoleBinding takes effect", async () => {
      await asReader.listNamespacedConfigMap({ namespace: ns });
      return true;
    });
    const denied = await asReader.listNamespacedSecret({ namespace: ns }).then(
      () => 200,
      (e) => statusCode(e),
    );
    expect(denied).toBe(403);
    const otherNs = await asReader.listNamespacedConfigMap({ namespace: "default" }).then(
      () => 200,
      (e) => statusCode(e),
    );
    expect(otherNs).toBe(403);
  });
});
