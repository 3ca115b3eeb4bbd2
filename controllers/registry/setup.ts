// Wires the Registry Service into the manager: the registry controller (always: it keeps the image
// policy) and, when a registry is configured, the token service and the registry API client.
import { readFileSync } from "node:fs";
import type { V1Namespace, V1Secret, V1ServiceAccount } from "@kubernetes/client-node";
import { type SupervisorNamespace, SupervisorNamespaceResource } from "../api/vsphere/supervisornamespace.ts";
import type { Manager } from "../runtime/manager.ts";
import { Namespaces, Secrets } from "../runtime/resource.ts";
import { RegistryApi } from "./api.ts";
import type { RegistryConfig } from "./config.ts";
import { RegistryMetrics } from "./metrics.ts";
import {
  anyChange,
  byNamespaceName,
  defaultServiceAccountInformer,
  pullSecretInformer,
  type RegistryCaches,
  type RegistryParts,
  RegistryReconciler,
  ServiceAccounts,
} from "./reconciler.ts";
import { TokenService, TokenSigner } from "./tokenservice.ts";

export interface RegistryService {
  tokenService?: TokenService;
  parts?: RegistryParts;
}

export function setupRegistry(mgr: Manager, config: RegistryConfig | undefined): RegistryService {
  const caches: RegistryCaches = {
    svns: mgr.informer<SupervisorNamespace>(SupervisorNamespaceResource),
    namespaces: mgr.informer<V1Namespace>(Namespaces),
  };
  let parts: RegistryParts | undefined;
  if (config) {
    const signer = TokenSigner.fromFiles(config);
    const ttl = 60_000;
    parts = {
      config,
      signer,
      metrics: new RegistryMetrics(mgr.metrics),
      api: new RegistryApi(
        config.host,
        config.caFile ? readFileSync(config.caFile, "utf8") : undefined,
        (access) => signer.accessToken("pacific-manager", access, ttl),
      ),
    };
    caches.secrets = mgr.informer<V1Secret>(Secrets, pullSecretInformer);
    caches.serviceAccounts = mgr.informer<V1ServiceAccount>(ServiceAccounts, defaultServiceAccountInformer);
  }
  const b = mgr
    .controller("registry")
    .for(SupervisorNamespaceResource)
    .watches(Namespaces, (o) => [{ name: o.metadata!.name! }], { predicate: anyChange });
  if (config) {
    b.watches(Secrets, byNamespaceName, { predicate: anyChange, informer: pullSecretInformer }).watches(
      ServiceAccounts,
      byNamespaceName,
      { predicate: anyChange, informer: defaultServiceAccountInformer },
    );
  }
  const controller = b
    .withOptions({ maxConcurrentReconciles: 4 })
    .complete(new RegistryReconciler(mgr.client, caches, mgr.events, parts));
  if (!config || !parts) return {};

  // The token service answers on every replica, leader or not; it stops with the manager.
  const tokenService = new TokenService(
    config,
    parts.signer,
    mgr.client,
    caches.svns,
    parts.metrics,
    mgr.log.child({ component: "registry-token-service" }),
    (project) => controller.enqueue({ name: project }),
  );
  let listening = false;
  let failed: string | undefined;
  tokenService.listening.then(
    () => {
      listening = true;
    },
    (e: unknown) => {
      failed = String(e);
      mgr.log.error({ err: failed, address: config.tokenAddress }, "registry token service cannot listen");
    },
  );
  mgr.addReadyCheck("registry-token-service", () =>
    listening ? undefined : (failed ?? "not listening yet"),
  );
  mgr.addRunnable({
    start: () => undefined,
    stop: async () => {
      await tokenService.stop();
      parts.api.close();
    },
  });
  return { tokenService, parts };
}
