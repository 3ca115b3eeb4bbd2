import { describe, expect, it } from "vitest";
import { imageOf, releaseFor, versionChangeProblem } from "./tkr.ts";

const rel = (version: string, k8s: string) => ({
  metadata: { name: version.replace("+", "---") },
  spec: { version, kubernetes: { version: k8s } },
});

describe("releases and version changes", () => {
  it("allows the same or the next minor and refuses a downgrade, a new major or a skipped minor", () => {
    expect(versionChangeProblem(undefined, "v1.26.5")).toBeUndefined();
    expect(versionChangeProblem("v1.26.5+vmware.2", "v1.26.5+vmware.2")).toBeUndefined();
    expect(versionChangeProblem("v1.26.5+vmware.2", "v1.27.4+vmware.1")).toBeUndefined();
    expect(versionChangeProblem("v1.27.4", "v1.26.5")).toBe("cannot be downgraded (from v1.27.4 to v1.26.5)");
    expect(versionChangeProblem("v1.25.1", "v1.27.4")).toBe(
      "may not skip a minor version (from v1.25.1 to v1.27.4)",
    );
    expect(versionChangeProblem("v1.27.4", "v2.0.0")).toMatch(/major/);
  });

  it("finds a topology version's release by TKR name, release version or Kubernetes version", () => {
    const all = [rel("v1.26.5+vmware.2-fips.1-tkg.1", "v1.26.5+vmware.2")];
    const store = { get: (n: string) => all.find((r) => r.metadata.name === n), list: () => all };
    expect(releaseFor("v1.26.5+vmware.2-fips.1-tkg.1", store)).toBe(all[0]);
    expect(releaseFor("v1.26.5+vmware.2", store)).toBe(all[0]);
    expect(releaseFor("v1.28.0", store)).toBeUndefined();
  });

  it("names a release's image after its first OS image", () => {
    expect(imageOf({ metadata: { name: "r" }, spec: { osImages: [{ name: "photon-5" }] } })).toBe("photon-5");
    expect(imageOf({ metadata: { name: "r" }, spec: {} })).toBe("photon-3-amd64-r");
  });
});
