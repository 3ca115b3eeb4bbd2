// The admin's actions, each one patch the admin could make with kubectl, sent with the VIEWER's
// token (never the manager's rights): the API server's RBAC and admission decide, and their answer
// (a 403, a CEL message) is what the browser shows.
import type { KubeConfig } from "@kubernetes/client-node";
import * as k8s from "@kubernetes/client-node";
import type { TanzuKubernetesCluster } from "../api/run/tanzukubernetescluster.ts";
import { TanzuKubernetesClusterResource } from "../api/run/tanzukubernetescluster.ts";
import { VirtualMachineResource } from "../api/vmoperator/virtualmachine.ts";
import { ESXiHostResource } from "../api/vsphere/esxihost.ts";
import { KubeClient } from "../runtime/client.ts";
import { objectPath, type ResourceType } from "../runtime/resource.ts";
import type { ActionRequest } from "./model.ts";

/** Field manager of the UI's patches: `kubectl get -o yaml --show-managed-fields` tells them apart. */
export const UI_FIELD_MANAGER = "pacific-ui";
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const MAX_REPLICAS = 1000;

/** Validates a request body; a string is the reason it is refused. */
export function parseAction(body: unknown): ActionRequest | string {
  if (!body || typeof body !== "object") return "the body must be a JSON object";
  const b = body as Record<string, unknown>;
  const name = (k: string): string | undefined =>
    typeof b[k] === "string" && NAME.test(b[k] as string) ? (b[k] as string) : undefined;
  switch (b.action) {
    case "maintenance": {
      const host = name("host");
      if (!host) return "maintenance: host must be an object name";
      if (typeof b.enabled !== "boolean") return "maintenance: enabled must be true or false";
      return { action: "maintenance", host, enabled: b.enabled };
    }
    case "power": {
      const namespace = name("namespace");
      const vm = name("vm");
      if (!namespace || !vm) return "power: namespace and vm must be object names";
      if (b.powerState !== "PoweredOn" && b.powerState !== "PoweredOff")
        return "power: powerState must be PoweredOn or PoweredOff";
      return { action: "power", namespace, vm, powerState: b.powerState };
    }
    case "scale": {
      const namespace = name("namespace");
      const cluster = name("cluster");
      const pool = name("pool");
      if (!namespace || !cluster || !pool) return "scale: namespace, cluster and pool must be object names";
      const r = b.replicas;
      if (typeof r !== "number" || !Number.isInteger(r) || r < 0 || r > MAX_REPLICAS)
        return `scale: replicas must be a whole number from 0 to ${MAX_REPLICAS}`;
      return { action: "scale", namespace, cluster, pool, replicas: r };
    }
    default:
      return "action must be maintenance, power or scale";
  }
}

/** A client that speaks to the manager's API server with the viewer's bearer token instead. */
export function viewerClient(managerConfig: KubeConfig, token: string): KubeClient {
  const cluster = managerConfig.getCurrentCluster();
  if (!cluster) throw new Error("the manager's kubeconfig has no current cluster");
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: "viewer", token }],
    contexts: [{ name: "viewer", cluster: cluster.name, user: "viewer" }],
    currentContext: "viewer",
  });
  return new KubeClient(kc, { userAgent: "pacific/ui (as viewer)", timeoutMs: 15_000 });
}

/** Performs the action as the viewer; rejects with the API server's ApiError when it refuses. */
export async function perform(client: KubeClient, a: ActionRequest): Promise<void> {
  switch (a.action) {
    case "maintenance":
      await patch(client, ESXiHostResource, a.host, undefined, "merge", {
        spec: { maintenanceMode: a.enabled },
      });
      return;
    case "power":
      await patch(client, VirtualMachineResource, a.vm, a.namespace, "merge", {
        spec: { powerState: a.powerState },
      });
      return;
    case "scale": {
      // nodePools is a list: patch the pool's own replicas, guarded by a test of its name so that a
      // list reordered in between fails instead of scaling another pool.
      const tkc = await client.get<TanzuKubernetesCluster>(
        TanzuKubernetesClusterResource,
        a.cluster,
        a.namespace,
      );
      const i = (tkc.spec.topology.nodePools ?? []).findIndex((p) => p.name === a.pool);
      if (i < 0)
        throw new Error(`TanzuKubernetesCluster ${a.namespace}/${a.cluster} has no node pool ${a.pool}`);
      await patch(client, TanzuKubernetesClusterResource, a.cluster, a.namespace, "json", [
        { op: "test", path: `/spec/topology/nodePools/${i}/name`, value: a.pool },
        { op: "replace", path: `/spec/topology/nodePools/${i}/replicas`, value: a.replicas },
      ]);
      return;
    }
  }
}

function patch(
  client: KubeClient,
  rt: ResourceType,
  name: string,
  namespace: string | undefined,
  type: "merge" | "json",
  body: unknown,
): Promise<unknown> {
  return client.request("PATCH", objectPath(rt, name, namespace), {
    body,
    contentType: type === "merge" ? "application/merge-patch+json" : "application/json-patch+json",
    query: { fieldManager: UI_FIELD_MANAGER },
  });
}
