// TanzuKubernetesReleases: the Supervisor syncs them from a content library; Pacific from its
// settings (chart value tanzuKubernetesReleases). Each listed version becomes a TKR (name: the
// version with '+' spelt '---').
import { parse as parseYaml } from "yaml";
import { managedByLabels } from "../../api/contracts.ts";
import {
  type TanzuKubernetesRelease,
  TanzuKubernetesReleaseApiVersion,
} from "../../api/run/tanzukubernetesrelease.ts";
import { semver, tkrName } from "../../shared/tkr.ts";

/**
 * The default catalogue: the TKG 2 releases the samples and tests use (vSphere 8), the vSphere
 * Kubernetes releases (VKr, `-vkr.N`) current Supervisors offer, and one more in VMware's naming
 * for the Kubernetes Pacific builds (hack/versions.env KUBERNETES_VERSION): v1.37.2+vmware.1-vkr.1
 * is not a VMware release — it is there so that a TKC can ask for the version its guest control
 * plane really reports (docs/guest-clusters.md#versions).
 */
export const defaultReleases = [
  "v1.23.8+vmware.3-tkg.1",
  "v1.24.11+vmware.1-fips.1-tkg.1",
  "v1.25.7+vmware.3-fips.1-tkg.1",
  "v1.26.5+vmware.2-fips.1-tkg.1",
  "v1.30.11+vmware.1-fips-vkr.2",
  "v1.31.11+vmware.3-fips-vkr.1",
  "v1.32.10+vmware.1-fips-vkr.2",
  "v1.33.6+vmware.1-fips-vkr.2",
  "v1.34.2+vmware.2-vkr.2",
  "v1.37.2+vmware.1-vkr.1",
];

/** The settings' `tanzuKubernetesReleases.yaml`: a list of TKR versions. Throws naming a bad one. */
export function parseReleases(text: string): string[] {
  const doc: unknown = parseYaml(text);
  if (doc === null || doc === undefined) return [];
  if (!Array.isArray(doc))
    throw new Error("tanzuKubernetesReleases: expected a list of versions such as v1.23.8+vmware.3-tkg.1");
  return doc.map((v) => {
    if (typeof v !== "string" || !/^v[0-9]+\.[0-9]+\.[0-9]+\+[-.a-z0-9]+$/.test(v))
      throw new Error(
        `tanzuKubernetesReleases: ${JSON.stringify(v)} is not a TKR version such as v1.23.8+vmware.3-tkg.1`,
      );
    return v;
  });
}

export function desiredRelease(version: string): TanzuKubernetesRelease {
  // The Kubernetes version: without the release's own suffix (-tkg.N, -vkr.N) and the FIPS mark.
  const kubernetes = version.replace(/-(tkg|vkr)\.[0-9].*$/, "").replace(/-fips(\.[0-9]+)?$/, "");
  const [maj, min] = semver(version) ?? [1, 0, 0];
  return {
    apiVersion: TanzuKubernetesReleaseApiVersion,
    kind: "TanzuKubernetesRelease",
    metadata: {
      name: tkrName(version),
      labels: { ...managedByLabels, [`v${maj}.${min}`]: "" },
    },
    spec: {
      version,
      kubernetes: { version: kubernetes, imageRepository: "projects.registry.vmware.com/tkg" },
      // VKrs ship Photon 5 images, TKG 2 releases Photon 3.
      osImages: [{ name: `ob-photon-${/-vkr\./.test(version) ? 5 : 3}-amd64-${tkrName(version)}` }],
    },
  };
}
