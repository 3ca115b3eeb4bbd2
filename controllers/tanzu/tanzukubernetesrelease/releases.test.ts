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
    expect(desiredRelease("v1.23.8+vmware.3-tkg.1").spec.kubernetes.version).toBe("v1.23.8+vmware.3");
    // vSphere Kubernetes releases (VKr), with and without FIPS.
    const vkr = desiredRelease("v1.33.6+vmware.1-fips-vkr.2");
    expect(vkr.metadata.name).toBe("v1.33.6---vmware.1-fips-vkr.2");
    expect(vkr.spec.kubernetes.version).toBe("v1.33.6+vmware.1");
    expect(vkr.spec.osImages?.[0]?.name).toBe("ob-photon-5-amd64-v1.33.6---vmware.1-fips-vkr.2");
    expect(desiredRelease("v1.37.2+vmware.1-vkr.1").spec.kubernetes.version).toBe("v1.37.2+vmware.1");
    expect(parseReleases("- v1.34.2+vmware.2-vkr.2")).toEqual(["v1.34.2+vmware.2-vkr.2"]);
    expect(() => parseReleases("- 1.2.3")).toThrow(/not a TKR version/);
    expect(parseReleases("")).toEqual([]);
  });
});
