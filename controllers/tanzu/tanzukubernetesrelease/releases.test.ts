import { describe, expect, it } from "vitest";
import { compareVersions, semver, tkrName } from "../../shared/tkr.ts";
import { desiredRelease, parseReleases } from "./releases.ts";

describe("TanzuKubernetesReleases", () => {
  it("names releases and parses versions", () => {
    expect(tkrName("v1.23.8+vmware.3-tkg.1")).toBe("v1.23.8---vmware.3-tkg.1");
    expect(semver("v1.24.11+vmware.1")).toEqual([1, 24, 11]);
    expect(compareVersions("v1.24.1", "v1.23.9")).toBeGreaterThan(0);
    const r = desiredRelease("v1.24.11+vmware.1-fips.1-tkg.1");
    expect(r.metadata.name).toBe("v1.24.11---vmware.1-fips.1-tkg.1");
    expect(r.spec.kubernetes.version).toBe("v1.24.11+vmware.1");
    expect(r.metadata.labels).toEqual({ "app.kubernetes.io/managed-by": "pacific", "v1.24": "" });
    expect(() => parseReleases("- 1.2.3")).toThrow(/not a TKR version/);
    expect(parseReleases("")).toEqual([]);
  });
});
