// The VM class catalogue: the best-effort-* (no reservation) and guaranteed-* (full reservation)
// classes a Supervisor ships (UPSTREAM-APIS.md). A SupervisorNamespace's spec.vmClasses picks from it.
import type { VirtualMachineClassSpec } from "../api/vmoperator/virtualmachineclass.ts";

const sizes: Array<[string, number, string]> = [
  ["xsmall", 2, "2Gi"],
  ["small", 2, "4Gi"],
  ["medium", 2, "8Gi"],
  ["large", 4, "16Gi"],
  ["xlarge", 4, "32Gi"],
  ["2xlarge", 8, "64Gi"],
  ["4xlarge", 16, "128Gi"],
  ["8xlarge", 32, "128Gi"],
];

export const defaultCatalogue: Record<string, VirtualMachineClassSpec> = Object.fromEntries(
  sizes.flatMap(([size, cpus, memory]) => [
    [
      `best-effort-${size}`,
      { description: `${cpus} vCPUs, ${memory}, no reservation`, hardware: { cpus, memory } },
    ],
    [
      `guaranteed-${size}`,
      {
        description: `${cpus} vCPUs, ${memory}, fully reserved`,
        hardware: { cpus, memory },
        policies: {
          resources: {
            requests: { cpu: `${cpus * 1000}m`, memory },
            limits: { cpu: `${cpus * 1000}m`, memory },
          },
        },
      },
    ],
  ]),
);
