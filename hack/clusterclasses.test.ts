// The generator of the shipped ClusterClasses and their admission policy (hack/gen-clusterclasses.mjs):
// its outputs are current, the schemas become checks whose messages name the field, and every class's
// rules are all there. What the CEL does against a real API server: test/e2e/clusterclass.e2e.ts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  namespaceClasses,
  PUBLIC_CLASS_NAMESPACE,
  publicClasses,
} from "../controllers/api/clusterclasses.ts";
// @ts-expect-error: a plain ES module of hack/ (no types)
import * as gen from "./gen-clusterclasses.mjs";

interface Check {
  cond: string;
  msg?: string;
  msgExpr?: string;
}
interface Validation {
  expression: string;
  message?: string;
  messageExpression?: string;
}
interface ClassSource {
  metadata: { name: string; namespace?: string };
  spec: { variables: Array<{ name: string; required: boolean; schema: { openAPIV3Schema: object } }> };
}
const classes = gen.loadClasses() as ClassSource[];
const checks = (schema: object): Check[] => gen.schemaChecks(schema, "v", "x");

describe("the shipped classes", () => {
  it("are generated from clusterclasses/ and current (npm run generate)", () => {
    for (const [path, body] of gen.generate() as Map<string, string>)
      expect(readFileSync(path, "utf8"), path).toBe(body);
  });

  it("are tanzukubernetescluster in every Supervisor Namespace and builtin-generic in vmware-system-vks-public", () => {
    expect(namespaceClasses.map((c) => c.metadata.name)).toEqual(["tanzukubernetescluster"]);
    expect(publicClasses.map((c) => `${c.metadata.namespace}/${c.metadata.name}`)).toEqual([
      `${PUBLIC_CLASS_NAMESPACE}/builtin-generic-v3.4.0`,
    ]);
    for (const c of [...namespaceClasses, ...publicClasses]) {
      const required = (c.spec.variables ?? []).filter((v) => v.required).map((v) => v.name);
      expect(required, c.metadata.name).toEqual(["vmClass", "storageClass"]);
      expect(
        c.spec.workers?.machineDeployments?.map((w) => w.class),
        c.metadata.name,
      ).toEqual(["node-pool"]);
    }
  });

  it("are each documented, variable by variable, in docs/clusterclass.md", () => {
    const doc = readFileSync(join(import.meta.dirname, "..", "docs", "clusterclass.md"), "utf8");
    for (const c of classes) {
      expect(doc).toContain(`\`${c.metadata.name}\``);
      for (const v of c.spec.variables)
        expect(doc, `${c.metadata.name} ${v.name}`).toContain(`\`${v.name}\``);
    }
  });
});

describe("schemaChecks", () => {
  it("checks the type first and guards the rest by it, so a wrong type gets one message", () => {
    const [type, min] = checks({ type: "string", minLength: 1 });
    expect(type).toEqual({ cond: "type(x) == string", msg: "v: must be a string" });
    expect(min?.cond).toBe("!(type(x) == string) || size(x) >= 1");
  });

  it("names nested fields, list items and map values in its messages", () => {
    const msgs = checks({
      type: "object",
      required: ["taints"],
      properties: {
        labels: { type: "object", additionalProperties: { type: "string" } },
        taints: {
          type: "array",
          items: {
            type: "object",
            properties: { effect: { type: "string", enum: ["NoSchedule", "NoExecute"] } },
          },
        },
      },
    }).map((c) => c.msg);
    expect(msgs).toEqual(
      expect.arrayContaining([
        "v.taints: required",
        "v.labels[*]: must be a string",
        'v.taints[*].effect: must be one of "NoSchedule", "NoExecute"',
        "v.taints[*]: unknown field (known: effect)",
        "v: unknown field (known: labels, taints)",
      ]),
    );
  });

  it("refuses unknown fields unless the schema keeps them, and names the field where it can", () => {
    const unknown = checks({ type: "object", properties: { a: { type: "string" } } }).find((c) => c.msgExpr);
    expect(unknown?.cond).toContain("x.all(k, k in ['a'])");
    expect(unknown?.msgExpr).toContain("x.filter(k, !(k in ['a']))[0]");
    const kept = checks({ type: "object", "x-kubernetes-preserve-unknown-fields": true });
    expect(kept.map((c) => c.msg)).toEqual(["v: must be an object"]);
  });

  it("writes CEL string literals that survive quotes and backslashes", () => {
    expect(gen.lit("it's a \\d")).toBe("'it\\'s a \\\\d'");
  });
});

describe("the admission policy", () => {
  const spec = gen.policySpec(classes) as {
    validations: Validation[];
    variables: Array<{ name: string; expression: string }>;
  };

  it("knows exactly the shipped classes and where each lives", () => {
    const [known, where] = spec.validations;
    expect(known?.expression).toBe("variables.cls in ['builtin-generic-v3.4.0', 'tanzukubernetescluster']");
    expect(where?.expression).toContain(`variables.cns in ['${PUBLIC_CLASS_NAMESPACE}']`);
  });

  it("has, per class, a where-it-lives, worker-class, required, unknown-variable and per-variable value rule", () => {
    for (const [ci, c] of classes.entries()) {
      const mine = spec.validations.filter((v) =>
        v.expression.startsWith(`variables.cls != '${c.metadata.name}'`),
      );
      const values = c.spec.variables.filter((v) => checks(v.schema.openAPIV3Schema).length > 0);
      expect(mine.length, c.metadata.name).toBe(4 + values.length);
      for (const [vi, v] of c.spec.variables.entries()) {
        if (!values.includes(v)) continue;
        const bad = spec.variables.find((x) => x.name === `bad${ci}_${vi}`);
        expect(bad?.expression, v.name).toContain(`s.name == '${v.name}'`);
      }
    }
  });

  it("judges every place a variable is set: the Cluster's, the control plane's and each pool's overrides", () => {
    const scoped = spec.variables.find((v) => v.name === "scoped")?.expression ?? "";
    expect(scoped).toContain("'spec.topology.variables['");
    expect(scoped).toContain("'spec.topology.controlPlane.variables.overrides['");
    expect(scoped).toContain(
      "'spec.topology.workers.machineDeployments[' + md.name + '].variables.overrides['",
    );
  });
});
