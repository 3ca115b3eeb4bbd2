import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { LAST_APPLIED } from "./cachetransform.ts";
import type { KubeClient } from "./client.ts";
import { Informer } from "./informer.ts";
import { silentLogger } from "./log.ts";
import { Pods } from "./resource.ts";

/** A pod as the API server returns the benchmark's (pods-10k) after admission and defaulting. */
function apiServerPod(i: number): V1Pod {
  const name = `pod-${String(i).padStart(5, "0")}`;
  const spec = {
    nodeName: "host-0001",
    tolerations: [{ operator: "Exists" }],
    containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }],
  };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "bench-pods",
      uid: `0f6c1a52-3c1e-4b8e-9a57-${String(i).padStart(12, "0")}`,
      resourceVersion: String(1000 + i),
      creationTimestamp: "2026-12-03T06:00:00Z" as unknown as Date,
      annotations: {
        [LAST_APPLIED]: JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name }, spec }),
      },
      managedFields: [
        {
          manager: "kubectl-client-side-apply",
          operation: "Update",
          apiVersion: "v1",
          fieldsType: "FieldsV1",
          fieldsV1: { "f:spec": { "f:containers": {}, "f:nodeName": {}, "f:tolerations": {} } },
        },
      ],
    },
    spec: {
      ...spec,
      containers: [
        {
          name: "c",
          image: "registry.k8s.io/pause:3.10",
          imagePullPolicy: "IfNotPresent",
          resources: { requests: { cpu: "100m" } },
          terminationMessagePath: "/dev/termination-log",
          terminationMessagePolicy: "File",
          volumeMounts: [
            {
              name: "kube-api-access-x7k2p",
              readOnly: true,
              mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
            },
          ],
        },
      ],
      volumes: [
        {
          name: "kube-api-access-x7k2p",
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
              { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
              {
                downwardAPI: {
                  items: [
                    { path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } },
                  ],
                },
              },
            ],
          },
        },
        { name: "data", persistentVolumeClaim: { claimName: "data" } },
      ],
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      dnsPolicy: "ClusterFirst",
      serviceAccountName: "default",
      serviceAccount: "default",
      securityContext: {},
      schedulerName: "default-scheduler",
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: "PreemptLowerPriority",
    },
    status: { phase: "Pending", qosClass: "Burstable" },
  };
}

/** A client that lists `items` and then watches until stopped. */
function listing(items: V1Pod[]): KubeClient {
  return {
    list: async () => ({ items, metadata: { resourceVersion: "5000" } }),
    watch: (_rt: unknown, _o: unknown, _cb: unknown, signal: AbortSignal) =>
      new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve())),
  } as unknown as KubeClient;
}

describe("what the informer caches keep of a pod", () => {
  it("drops what no reconciler reads, keeps what they do, and the stored pod is at most half the size", async () => {
    const pods = Array.from({ length: 100 }, (_, i) => apiServerPod(i));
    const before = JSON.stringify(apiServerPod(0)).length;
    const inf = new Informer<V1Pod>(Pods, listing(pods), silentLogger, { resyncMs: 0 });
    inf.start();
    await inf.waitForSync();
    inf.stop();
    const stored = inf.store.get("bench-pods/pod-00000");
    expect(stored).toBeDefined();
    const p = stored as V1Pod;
    expect(p.metadata?.managedFields).toBeUndefined();
    expect(p.metadata?.annotations).toBeUndefined(); // last-applied was the only one
    expect(p.spec?.serviceAccount).toBeUndefined();
    expect(p.spec?.volumes?.map((v) => v.name)).toEqual(["data"]); // only the token volume goes
    expect(p.spec?.containers[0]?.volumeMounts).toBeUndefined();
    expect(p.spec?.containers[0]?.terminationMessagePath).toBeUndefined();
    // What placement, the Spherelet and the UI read stays.
    expect(p.spec?.nodeName).toBe("host-0001");
    expect(p.spec?.containers[0]).toMatchObject({ name: "c", image: "registry.k8s.io/pause:3.10" });
    expect(p.spec?.containers[0]?.resources).toEqual({ requests: { cpu: "100m" } });
    expect(p.spec?.tolerations).toEqual([{ operator: "Exists" }]);
    expect(p.spec?.restartPolicy).toBe("Always");
    expect(p.spec?.serviceAccountName).toBe("default");
    expect(p.status).toEqual({ phase: "Pending", qosClass: "Burstable" });
    expect(JSON.stringify(p).length).toBeLessThanOrEqual(before / 2);
    for (const o of inf.store.list()) expect(JSON.stringify(o).length).toBeLessThanOrEqual(before / 2);
  });

  it("keeps managedFields for a cache that asks for them, and other annotations always", async () => {
    const pod = apiServerPod(1);
    pod.metadata = { ...pod.metadata, annotations: { ...pod.metadata?.annotations, keep: "me" } };
    const inf = new Informer<V1Pod>(Pods, listing([pod]), silentLogger, {
      resyncMs: 0,
      keepManagedFields: true,
    });
    inf.start();
    await inf.waitForSync();
    inf.stop();
    const p = inf.store.get("bench-pods/pod-00001");
    expect(p?.metadata?.managedFields).toHaveLength(1);
    expect(p?.metadata?.annotations).toEqual({ keep: "me" });
  });
});
