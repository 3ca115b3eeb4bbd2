// The manager's configuration from the cluster: the settings ConfigMap the chart renders from its
// values (simulation knobs, datastore capacities, the VM class catalogue), and which optional APIs
// (mirrored upstream CRDs) the cluster serves. Read once at start: the chart rolls the Deployment
// when the ConfigMap changes (checksum annotation); a local manager is restarted.
import type { V1ConfigMap } from "@kubernetes/client-node";
import type { VirtualMachineClassSpec } from "./api/vmoperator/virtualmachineclass.ts";
import type { RegistryConfig } from "./registry/config.ts";
import type { KubeClient } from "./runtime/client.ts";
import { apiStatus, isNotFound, isTransient } from "./runtime/errors.ts";
import type { Logger } from "./runtime/log.ts";
import { ConfigMaps } from "./runtime/resource.ts";
import { defaultSettings, loadSettings, type SimulationSettings } from "./settings.ts";
import { defaultCatalogue, parseCatalogue } from "./shared/vmclasses.ts";
import { defaultReleases, parseReleases } from "./tanzu/tanzukubernetesrelease/releases.ts";

export interface PacificConfig {
  settings: SimulationSettings;
  vmClasses: Record<string, VirtualMachineClassSpec>;
  /** TanzuKubernetesRelease versions to offer (the content library). */
  releases: string[];
  /** Optional upstream APIs this cluster serves; a controller needing an absent one degrades. */
  apis: { vmOperator: boolean; clusterAPI: boolean; tkc: boolean };
  /** The Registry Service (from PACIFIC_REGISTRY_* in main.ts); absent: no registry. */
  registry?: RegistryConfig;
}

export const defaultConfig: PacificConfig = {
  settings: defaultSettings,
  vmClasses: defaultCatalogue,
  releases: defaultReleases,
  apis: { vmOperator: true, clusterAPI: true, tkc: true },
};

export const VM_CLASSES_KEY = "vmClasses.yaml";
export const RELEASES_KEY = "tanzuKubernetesReleases.yaml";

/** The configuration a settings ConfigMap's data means (pure; throws naming the bad key). */
export function configFromData(
  data: Record<string, string> | undefined,
  env: NodeJS.ProcessEnv = {},
): Omit<PacificConfig, "apis"> {
  const d = data ?? {};
  return {
    settings: loadSettings(env, d),
    vmClasses: d[VM_CLASSES_KEY] !== undefined ? parseCatalogue(d[VM_CLASSES_KEY]) : defaultCatalogue,
    releases: d[RELEASES_KEY] !== undefined ? parseReleases(d[RELEASES_KEY]) : defaultReleases,
  };
}

/**
 * Reads the settings ConfigMap (absent → defaults) and discovers the optional APIs. What the API
 * server cannot answer yet (it is restarting, see isTransient) is asked again with backoff for up to
 * `patienceMs`: exiting would only earn the pod a CrashLoopBackOff. A bad value throws at once.
 */
export async function loadConfig(
  client: KubeClient,
  namespace: string,
  configMap: string,
  log: Logger,
  patienceMs = 120_000,
): Promise<PacificConfig> {
  const deadline = Date.now() + patienceMs;
  const ask = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!isTransient(e) || Date.now() > deadline) throw e;
        const delay = Math.min(10_000, 250 * 2 ** attempt);
        log.warn({ what, err: apiStatus(e).message, retryInMs: delay }, "the API server cannot answer yet");
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };
  let data: Record<string, string> | undefined;
  try {
    data = (await ask("settings", () => client.get<V1ConfigMap>(ConfigMaps, configMap, namespace))).data;
    log.info({ configMap: `${namespace}/${configMap}` }, "settings read");
  } catch (e) {
    if (!isNotFound(e)) throw e;
    log.info({ configMap: `${namespace}/${configMap}` }, "no settings ConfigMap: built-in defaults");
  }
  const serves = (groupVersion: string, resource: string) =>
    ask(`discovery of ${groupVersion}`, () => servedBy(client, groupVersion, resource));
  const vmOperator = await serves("vmoperator.vmware.com/v1alpha3", "virtualmachines");
  if (!vmOperator)
    log.warn(
      "vmoperator.vmware.com/v1alpha3 is not served: no VM Service, VM classes are not copied into namespaces (install the chart with crds.vmOperator=true, or VM Operator)",
    );
  const clusterAPI =
    (await serves("cluster.x-k8s.io/v1beta1", "machines")) &&
    (await serves("controlplane.cluster.x-k8s.io/v1beta1", "kubeadmcontrolplanes"));
  const tkc = await serves("run.tanzu.vmware.com/v1alpha3", "tanzukubernetesclusters");
  if (!clusterAPI || !tkc)
    log.warn(
      { clusterAPI, tkc },
      "Cluster API or TanzuKubernetesCluster APIs are not served: no Tanzu Kubernetes Grid service (install the chart with crds.clusterAPI=true and crds.tkc=true)",
    );
  return { ...configFromData(data, process.env), apis: { vmOperator, clusterAPI, tkc } };
}

/** Whether the API server serves `resource` in `groupVersion` (discovery; needs no RBAC rule). */
async function servedBy(client: KubeClient, groupVersion: string, resource: string): Promise<boolean> {
  try {
    const list = await client.request<{ resources?: Array<{ name: string }> }>(
      "GET",
      `/apis/${groupVersion}`,
    );
    return (list.resources ?? []).some((r) => r.name === resource);
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}
