// The KubeadmControlPlane through the shared machine-owner reconciler, against the in-memory client:
// one member at a time (etcd quorum), initialized/ready once one runs, the version the whole runs.
import { describe, expect, it } from "vitest";
import { CapiLabels } from "../../api/contracts.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneResource,
} from "../../api/controlplane/kubeadmcontrolplane.ts";
import { FakeClient } from "../../runtime/testing/fakeclient.ts";
import { machineOwnerDriver } from "../../shared/testing/machineowner.ts";
import { kcpKind } from "./kind.ts";

const NS = "dev";
const kcp: KubeadmControlPlane = {
  apiVersion: "controlplane.cluster.x-k8s.io/v1beta1",
  kind: "KubeadmControlPlane",
  metadata: { name: "tkc-1-control-plane", namespace: NS, labels: { [CapiLabels.clusterName]: "tkc-1" } },
  spec: {
    replicas: 3,
    version: "v1.23.8+vmware.3",
    machineTemplate: { infrastructureRef: { kind: "VirtualMachineClass", name: "best-effort-small" } },
    kubeadmConfigSpec: {},
    rolloutStrategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } },
  },
};

const { pass, machines, runAll } = machineOwnerDriver(kcpKind, NS, "tkc-1-control-plane");
const status = (c: FakeClient) => c.peek(KubeadmControlPlaneResource, "tkc-1-control-plane", NS)?.status;

describe("KubeadmControlPlane", () => {
  it("adds one member at a time, each once the one before runs", async () => {
    const c = new FakeClient([KubeadmControlPlaneResource, kcp]);
    await pass(c);
    expect(await machines(c)).toHaveLength(1);
    const first = (await machines(c))[0];
    expect(first?.metadata.labels).toMatchObject({
      [CapiLabels.controlPlane]: "",
      [CapiLabels.controlPlaneName]: "tkc-1-control-plane",
      [CapiLabels.clusterName]: "tkc-1",
    });
    expect(status(c)).toMatchObject({ initialized: false, ready: false, replicas: 0 }); // the cache had none
    await pass(c);
    expect(await machines(c)).toHaveLength(1); // still starting: nothing more
    expect(status(c)).toMatchObject({ initialized: false, replicas: 1, readyReplicas: 0 });
    expect(status(c)?.conditions?.[0]?.message).toBe("a new control-plane machine is starting");

    await runAll(c);
    await pass(c);
    expect(await machines(c)).toHaveLength(2);
    expect(status(c)).toMatchObject({ initialized: true, ready: true, version: "v1.23.8+vmware.3" });
    expect(status(c)?.conditions?.map((x) => x.type)).toEqual(["Ready", "MachinesReady"]);
  });
});
