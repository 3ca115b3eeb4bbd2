// The VM class catalogue: the best-effort-* (no reservation) and guaranteed-* (full reservation)
// classes a Supervisor ships (docs/upstream-apis.md). A SupervisorNamespace's spec.vmClasses picks from it.
import { parse as parseYaml } from "yaml";
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

/**
 * A catalogue from the settings ConfigMap's `vmClasses.yaml` (chart value `vmClasses`): a map of
 * class name → VirtualMachineClass spec with upstream field names. Throws naming the bad entry.
 */
export function parseCatalogue(text: string): Record<string, VirtualMachineClassSpec> {
  const doc: unknown = parseYaml(text);
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc))
    throw new Error("vmClasses: expected a map of class name → VirtualMachineClass spec");
  const out: Record<string, VirtualMachineClassSpec> = {};
  for (const [name, spec] of Object.entries(doc as Record<string, unknown>)) {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253)
      throw new Error(`vmClasses: ${JSON.stringify(name)} is not a valid object name`);
    const s = spec as VirtualMachineClassSpec | null;
    const cpus = s?.hardware?.cpus;
    if (typeof cpus !== "number" || !Number.isInteger(cpus) || cpus < 1)
      throw new Error(`vmClasses.${name}.hardware.cpus: expected a whole number ≥ 1`);
    if (!isQuantity(s?.hardware?.memory))
      throw new Error(`vmClasses.${name}.hardware.memory: expected a quantity such as 4Gi`);
    for (const kind of ["requests", "limits"] as const) {
      const r = s?.policies?.resources?.[kind];
      if (r?.cpu !== undefined && !isQuantity(r.cpu))
        throw new Error(
          `vmClasses.${name}.policies.resources.${kind}.cpu: expected a quantity such as 2000m`,
        );
      if (r?.memory !== undefined && !isQuantity(r.memory))
        throw new Error(
          `vmClasses.${name}.policies.resources.${kind}.memory: expected a quantity such as 4Gi`,
        );
    }
    if (s) out[name] = s;
  }
  return out;
}

function isQuantity(v: unknown): boolean {
  if (typeof v === "number") return v >= 0;
  return typeof v === "string" && /^[0-9]+(\.[0-9]+)?(m|k|[KMGTPE]i?)?$/.test(v);
}
