// The MachineDeployment through the shared machine-owner reconciler, against the in-memory client:
// scale up all at once, report replicas and phase, roll one surge machine at a time.
import { describe, expect, it } from "vitest";
import { MachineResource } from "../../api/cluster/machine.ts";
import { type MachineDeployment, MachineDeploymentResource } from "../../api/cluster/machinedeployment.ts";
import { CapiLabels, VMTemplateAnnotations } from "../../api/contracts.ts";
import { FakeClient } from "../../runtime/testing/fakeclient.ts";
import { machineOwnerDriver } from "../../shared/testing/machineowner.ts";
import { mdKind, phaseOf } from "./kind.ts";

const NS = "dev";
const md: MachineDeployment = {
  apiVersion: "cluster.x-k8s.io/v1beta1",
  kind: "MachineDeployment",
  metadata: { name: "tkc-1-a", namespace: NS },
  spec: {
    clusterName: "tkc-1",
    replicas: 2,
    selector: { matchLabels: { [CapiLabels.deploymentName]: "tkc-1-a" } },
    template: {
      metadata: { annotations: { [VMTemplateAnnotations.className]: "best-effort-small" } },
      spec: {
        clusterName: "tkc-1",
        bootstrap: { dataSecretName: "b" },
        infrastructureRef: { kind: "VirtualMachineClass", name: "best-effort-small" },
        version: "v1.23.8+vmware.3",
      },
    },
  },
};

const { pass, machines, runAll } = machineOwnerDriver(mdKind, NS, "tkc-1-a");

describe("MachineDeployment", () => {
  it("makes every missing machine at once, then reports Running when all run", async () => {
    const c = new FakeClient([MachineDeploymentResource, md]);
    await pass(c);
    const made = await machines(c);
    expect(made).toHaveLength(2);
    expect(made[0]?.metadata.labels?.[CapiLabels.deploymentName]).toBe("tkc-1-a");
    expect(made[0]?.metadata.ownerReferences?.[0]).toMatchObject({
      kind: "MachineDeployment",
      controller: true,
    });
    expect(c.peek(MachineDeploymentResource, "tkc-1-a", NS)?.status).toMatchObject({
      phase: "ScalingUp",
      selector: `${CapiLabels.clusterName}=tkc-1,${CapiLabels.deploymentName}=tkc-1-a`,
    });
    await runAll(c);
    await pass(c);
    const s = c.peek(MachineDeploymentResource, "tkc-1-a", NS)?.status;
    expect(s).toMatchObject({ phase: "Running", replicas: 2, readyReplicas: 2, availableReplicas: 2 });
    expect(s?.conditions?.map((x) => [x.type, x.status])).toEqual([
      ["Ready", "True"],
      ["Available", "True"],
    ]);
  });

  it("rolls a new template one surge machine at a time", async () => {
    const c = new FakeClient([MachineDeploymentResource, md]);
    await pass(c);
    await runAll(c);
    await pass(c);
    await c.patch(MachineDeploymentResource, "tkc-1-a", NS, {
      spec: { template: { spec: { version: "v1.24.11+vmware.1" } } },
    });
    await pass(c);
    expect(await machines(c)).toHaveLength(3); // one surge machine
    const s = c.peek(MachineDeploymentResource, "tkc-1-a", NS)?.status;
    expect(s?.conditions?.[0]).toMatchObject({ status: "False", reason: "RollingUpdateInProgress" });
    await pass(c);
    expect(await machines(c)).toHaveLength(3); // it has not started yet: nothing more
  });

  it("carries a machine's QuotaExceeded (its VM refused by the namespace's quota) into Ready with the quota's message", async () => {
    const c = new FakeClient([MachineDeploymentResource, md]);
    await pass(c);
    const [first] = await machines(c);
    const quota = "exceeded quota: pacific-limits, requested: count/virtualmachines.vmoperator.vmware.com=1";
    await c.patch(
      MachineResource,
      first?.metadata.name ?? "",
      NS,
      {
        status: {
          phase: "Pending",
          conditions: [
            {
              type: "InfrastructureReady",
              status: "False",
              severity: "Warning",
              reason: "QuotaExceeded",
              message: quota,
            },
          ],
        },
      },
      { subresource: "status" },
    );
    await pass(c);
    const ready = c.peek(MachineDeploymentResource, "tkc-1-a", NS)?.status?.conditions?.[0];
    expect(ready).toMatchObject({
      type: "Ready",
      status: "False",
      severity: "Warning",
      reason: "QuotaExceeded",
      message: quota,
    });
  });

  it("phase: ScalingDown above the count, Running only when all are ready", () => {
    expect(phaseOf(3, 2, false)).toBe("ScalingDown");
    expect(phaseOf(2, 2, true)).toBe("Running");
    expect(phaseOf(2, 2, false)).toBe("ScalingUp");
    expect(phaseOf(1, 2, false)).toBe("ScalingUp");
  });
});
