// The ClusterClass publisher's decisions against the in-memory FakeClient (test/e2e/clusterclass.e2e.ts
// covers the same against a real API server with the chart's RBAC).
import type { V1Namespace } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { type ClusterClass, ClusterClassResource } from "../api/cluster/clusterclass.ts";
import { namespaceClasses, PUBLIC_CLASS_NAMESPACE, publicClasses } from "../api/clusterclasses.ts";
import { type SupervisorNamespace, SupervisorNamespaceResource } from "../api/vsphere/supervisornamespace.ts";
import { silentLogger } from "../runtime/log.ts";
import { Namespaces } from "../runtime/resource.ts";
import { Store } from "../runtime/store.ts";
import { FakeClient } from "../runtime/testing/fakeclient.ts";
import { storeFrom } from "../runtime/testing/stores.ts";
import { namespaceClass, publicClass } from "./desired.ts";
import { ClusterClassReconciler } from "./reconciler.ts";

const svns: SupervisorNamespace = {
  apiVersion: "vsphere.pacific.dev/v1alpha1",
  kind: "SupervisorNamespace",
  metadata: { name: "dev", uid: "svns-uid" },
  spec: {} as SupervisorNamespace["spec"],
};
const namespace = (name: string, owner?: string): V1Namespace => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: {
    name,
    ownerReferences: owner
      ? [
          {
            apiVersion: "vsphere.pacific.dev/v1alpha1",
            kind: "SupervisorNamespace",
            name,
            uid: owner,
            controller: true,
          },
        ]
      : undefined,
  },
});
const shipped = { namespaceClasses, publicClasses };
const [tkc] = namespaceClasses;
const [generic] = publicClasses;

async function reconcileOnce(client: FakeClient, req: { name: string; namespace?: string }) {
  const r = new ClusterClassReconciler(
    client,
    {
      svns: await storeFrom(client, SupervisorNamespaceResource),
      namespaces: await storeFrom(client, Namespaces),
      classes: await storeFrom(client, ClusterClassResource),
    },
    shipped,
  );
  return r.reconcile(req, silentLogger);
}

describe("the published classes", () => {
  it("a namespace's class is the shipped one, a child of its SupervisorNamespace", () => {
    if (!tkc) throw new Error("no namespace class shipped");
    const cc = namespaceClass(tkc, svns);
    expect(cc.metadata).toMatchObject({
      name: "tanzukubernetescluster",
      namespace: "dev",
      labels: {
        "vsphere.pacific.dev/supervisor-namespace": "dev",
        "app.kubernetes.io/managed-by": "pacific",
      },
      ownerReferences: [{ kind: "SupervisorNamespace", name: "dev", uid: "svns-uid", controller: true }],
    });
    expect(cc.spec).toBe(tkc.spec);
  });

  it("a public class keeps its namespace and has no owner", () => {
    if (!generic) throw new Error("no public class shipped");
    const cc = publicClass(generic);
    expect(cc.metadata.namespace).toBe(PUBLIC_CLASS_NAMESPACE);
    expect(cc.metadata.ownerReferences).toBeUndefined();
    expect(cc.metadata.labels?.["app.kubernetes.io/managed-by"]).toBe("pacific");
  });
});

describe("ClusterClassReconciler", () => {
  it("waits for the Supervisor Namespace's own Namespace, then publishes the class in it", async () => {
    const client = new FakeClient([SupervisorNamespaceResource, svns]);
    await reconcileOnce(client, { name: "dev" });
    expect(client.writes()).toEqual([]);
    const withNs = new FakeClient(
      [SupervisorNamespaceResource, svns],
      [Namespaces, namespace("dev", "svns-uid")],
    );
    await reconcileOnce(withNs, { name: "dev" });
    expect(withNs.peek<ClusterClass>(ClusterClassResource, "tanzukubernetescluster", "dev")?.spec).toEqual(
      tkc?.spec,
    );
  });

  it("never publishes into a Namespace the SupervisorNamespace does not own", async () => {
    const client = new FakeClient([SupervisorNamespaceResource, svns], [Namespaces, namespace("dev")]);
    await reconcileOnce(client, { name: "dev" });
    expect(client.writes()).toEqual([]);
  });

  it("puts a hand-edited spec back exactly (fields added by hand removed), and leaves a shipped one alone", async () => {
    if (!tkc) throw new Error("no namespace class shipped");
    const edited = namespaceClass(tkc, svns);
    edited.spec = { ...edited.spec, variables: [], patches: [{ name: "mine" }] };
    const client = new FakeClient(
      [SupervisorNamespaceResource, svns],
      [Namespaces, namespace("dev", "svns-uid")],
      [ClusterClassResource, edited],
    );
    await reconcileOnce(client, { name: "dev" });
    const now = client.peek<ClusterClass>(ClusterClassResource, "tanzukubernetescluster", "dev");
    expect(now?.spec).toEqual(tkc.spec);
    const writes = client.writes().length;
    await reconcileOnce(client, { name: "dev" });
    expect(client.writes().length).toBe(writes);
  });

  it("takes back a class whose managed-by label was removed by hand (the cache no longer has it)", async () => {
    if (!tkc) throw new Error("no namespace class shipped");
    const unlabelled = namespaceClass(tkc, svns);
    unlabelled.metadata.labels = {};
    unlabelled.spec = { ...unlabelled.spec, variables: [] };
    const client = new FakeClient(
      [SupervisorNamespaceResource, svns],
      [Namespaces, namespace("dev", "svns-uid")],
      [ClusterClassResource, unlabelled],
    );
    const r = new ClusterClassReconciler(
      client,
      {
        svns: await storeFrom(client, SupervisorNamespaceResource),
        namespaces: await storeFrom(client, Namespaces),
        classes: new Store<ClusterClass>(), // the label-selected informer sees none
      },
      shipped,
    );
    await r.reconcile({ name: "dev" }, silentLogger);
    const now = client.peek<ClusterClass>(ClusterClassResource, "tanzukubernetescluster", "dev");
    expect(now?.metadata.labels?.["app.kubernetes.io/managed-by"]).toBe("pacific");
    expect(now?.spec).toEqual(tkc.spec);
  });

  it("publishes a public class once its namespace exists, and nothing for a class it does not ship", async () => {
    if (!generic) throw new Error("no public class shipped");
    const req = { namespace: PUBLIC_CLASS_NAMESPACE, name: generic.metadata.name ?? "" };
    const none = new FakeClient();
    expect(await reconcileOnce(none, req)).toEqual({ requeueAfter: 30_000 });
    const client = new FakeClient([Namespaces, namespace(PUBLIC_CLASS_NAMESPACE)]);
    await reconcileOnce(client, req);
    expect(client.peek<ClusterClass>(ClusterClassResource, req.name, PUBLIC_CLASS_NAMESPACE)?.spec).toEqual(
      generic.spec,
    );
    await reconcileOnce(client, { namespace: PUBLIC_CLASS_NAMESPACE, name: "someone-elses" });
    expect(client.peek(ClusterClassResource, "someone-elses", PUBLIC_CLASS_NAMESPACE)).toBeUndefined();
  });
});
