// Lints crds/ without a cluster: every file parses as YAML without warnings, every CRD has the
// shape Pacific's conventions ask for. The API server judges the schemas themselves (e2e).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

const dir = join(import.meta.dirname, "..", "crds");
const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));

interface Crd {
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    names: { plural: string; kind: string; shortNames?: string[] };
    versions: Array<{
      name: string;
      storage: boolean;
      subresources?: { status?: object };
      additionalPrinterColumns?: Array<Record<string, unknown>>;
    }>;
  };
}

describe.each(files)("crds/%s", (file) => {
  const docs = parseAllDocuments(readFileSync(join(dir, file), "utf8"));

  it("parses as YAML without errors or warnings", () => {
    for (const d of docs) {
      expect(d.errors.map((e) => e.message)).toEqual([]);
      expect(d.warnings.map((e) => e.message)).toEqual([]);
    }
  });

  it("is a CRD named <plural>.<group> with one storage version, a status subresource and printer columns", () => {
    for (const d of docs) {
      const crd = d.toJS() as Crd;
      expect(crd.kind).toBe("CustomResourceDefinition");
      expect(crd.metadata.name).toBe(`${crd.spec.names.plural}.${crd.spec.group}`);
      expect(file).toBe(`${crd.spec.group}_${crd.spec.names.plural}.yaml`);
      expect(crd.spec.versions.filter((v) => v.storage)).toHaveLength(1);
      for (const v of crd.spec.versions) {
        expect(v.subresources?.status, `${v.name} has a status subresource`).toBeDefined();
        for (const col of v.additionalPrinterColumns ?? []) {
          expect(Object.keys(col).sort()).toEqual(expect.arrayContaining(["jsonPath", "name", "type"]));
          for (const k of Object.keys(col))
            expect(["name", "type", "jsonPath", "description", "priority", "format"]).toContain(k);
        }
      }
    }
  });
});
