import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { configFromData } from "../controllers/config.ts";
import { settingKeys } from "../controllers/settings.ts";
import { defaultCatalogue } from "../controllers/shared/vmclasses.ts";

const values = parse(
  readFileSync(join(import.meta.dirname, "..", "charts", "pacific", "values.yaml"), "utf8"),
);

describe("the chart's defaults and the manager's", () => {
  it("ship the same VM class catalogue", () => {
    expect(values.vmClasses).toEqual(defaultCatalogue);
  });

  it("name only settings the manager reads, each valid", () => {
    const given = { ...values.simulation, ...values.network };
    for (const key of Object.keys(given)) expect(Object.keys(settingKeys)).toContain(key);
    const data = Object.fromEntries(Object.entries(given).map(([k, v]) => [k, String(v)]));
    expect(() => configFromData(data)).not.toThrow();
  });
});
