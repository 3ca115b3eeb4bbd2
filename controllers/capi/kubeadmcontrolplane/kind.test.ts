// The KubeadmControlPlane through the shared machine-owner reconciler, against the in-memory client:
// one member at a time (etcd quorum), initialized/ready once one runs, the version the whole runs.
import { describe, expect, it } from "vitest";
import { CapiLabels, GuestAnnotations } from "../../api/contracts.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneResource,
} from "../../api/controlplane/kubeadmcontrolplane.ts";
import { FakeClient } from "../../runtime/testing/fakeclient.ts";
import { machineOwnerDriver } from "../../shared/testing/machineowner.ts";
import { kcpKind, kcpKindFor } from "./kind.ts";

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

describe("KubeadmControlPlane with a guest control plane (runtime local)", () => {
  const local = machineOwnerDriver(kcpKindFor("local"), NS, "tkc-1-control-plane");
  const annotate = (c: FakeClient, ready: "True" | "False") =>
    c.patch(KubeadmControlPlaneResource, "tkc-1-control-plane", NS, {
      metadata: { annotations: { [GuestAnnotations.apiServerReady]: ready } },
    });
  const available = (c: FakeClient) => status(c)?.conditions?.find((x) => x.type === "Available");

  it("is initialized and ready only once the guest API server answers; initialized stays", async () => {
    const one: KubeadmControlPlane = { ...kcp, spec: { ...kcp.spec, replicas: 1 } };
    const c = new FakeClient([KubeadmControlPlaneResource, one]);
    await local.pass(c);
    await local.runAll(c);
    await local.pass(c);
    // A member runs, but the guest has not answered /readyz yet.
    expect(status(c)).toMatchObject({ initialized: false, ready: false, readyReplicas: 1 });
    expect(available(c)).toMatchObject({
      status: "False",
      severity: "Info",
      reason: "WaitingForKubeadmInit",
    });

    await annotate(c, "True");
    await local.pass(c);
    expect(status(c)).toMatchObject({ initialized: true, ready: true });
    expect(available(c)?.status).toBe("True");

    // The guest stops answering: not ready, not Available (a Warning), still initialized (sticky).
    await annotate(c, "False");
    await local.pass(c);
    expect(status(c)).toMatchObject({ initialized: true, ready: false });
    expect(available(c)).toMatchObject({ status: "False", severity: "Warning", reason: "APIServerNotReady" });
    expect(available(c)?.message).toBe("the guest API server does not answer /readyz");
  });

  it("runtime none writes no Available (as before)", async () => {
    const c = new FakeClient([KubeadmControlPlaneResource, kcp]);
    await pass(c);
    expect(available(c)).toBeUndefined();
  });
});
