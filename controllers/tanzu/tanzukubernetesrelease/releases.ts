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

export const defaultReleases = [
  "v1.23.8+vmware.3-tkg.1",
  "v1.24.11+vmware.1-fips.1-tkg.1",
  "v1.25.7+vmware.3-fips.1-tkg.1",
  "v1.26.5+vmware.2-fips.1-tkg.1",
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
  const k8s = version.slice(0, version.lastIndexOf("-tkg") > 0 ? version.lastIndexOf("-tkg") : undefined);
  const kubernetes = k8s.replace(/-fips\.[0-9]+$/, "");
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
      osImages: [{ name: `ob-photon-3-amd64-${tkrName(version)}` }],
    },
  };
}
