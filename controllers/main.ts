// The Pacific manager: every controller in one process, leader-elected, serving /healthz, /readyz,
// /metrics and the web UI (/ui/). Configuration by flags, each with an environment variable of the same meaning.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { loadConfig, type PacificConfig } from "./config.ts";
import { registryConfigFromEnv } from "./registry/config.ts";
import { newLogger } from "./runtime/log.ts";
import { Manager } from "./runtime/manager.ts";
import { parseDuration } from "./settings.ts";
import { setupControllers } from "./setup.ts";
import { setupUi } from "./ui/setup.ts";

const { values: flags } = parseArgs({
  options: {
    kubeconfig: { type: "string", default: process.env.KUBECONFIG },
    "leader-elect": { type: "string", default: process.env.PACIFIC_LEADER_ELECT ?? "true" },
    namespace: { type: "string", default: process.env.POD_NAMESPACE ?? "pacific-system" },
    "bind-address": { type: "string", default: process.env.PACIFIC_BIND_ADDRESS ?? "0.0.0.0:8080" },
    "kube-api-qps": { type: "string", default: process.env.PACIFIC_KUBE_API_QPS ?? "200" },
    "kube-api-burst": { type: "string", default: process.env.PACIFIC_KUBE_API_BURST ?? "400" },
    "settings-configmap": {
      type: "string",
      default: process.env.PACIFIC_SETTINGS_CONFIGMAP ?? "pacific-settings",
    },
    "metrics-cert-dir": { type: "string", default: process.env.PACIFIC_METRICS_CERT_DIR ?? "" },
    "log-level": { type: "string", default: process.env.LOG_LEVEL ?? "info" },
    "watch-timeout": { type: "string", default: process.env.PACIFIC_WATCH_TIMEOUT ?? "150s" },
    ui: { type: "string", default: process.env.PACIFIC_UI ?? "true" },
    help: { type: "boolean", default: false },
  },
});

if (flags.help) {
  console.log(`pacific manager
  --kubeconfig PATH          kubeconfig (default: $KUBECONFIG, else in-cluster)
  --leader-elect true|false  campaign for the leader Lease before reconciling (default true)
  --namespace NS             namespace of the leader Lease and the settings ConfigMap (default $POD_NAMESPACE or pacific-system)
  --bind-address HOST:PORT   /healthz, /readyz and /metrics (default 0.0.0.0:8080)
  --metrics-cert-dir DIR      serve HTTPS with DIR/tls.crt and DIR/tls.key, /metrics only to tokens allowed
                             get on it (TokenReview + SubjectAccessReview); unset: plain HTTP (default)
  --kube-api-qps N           client-side rate limit; 0 turns it off (default 200)
  --kube-api-burst N         (default 400)
  --settings-configmap NAME  ConfigMap (in --namespace) with the simulation settings and VM classes (default pacific-settings)
  --watch-timeout DURATION   restart a watch silent for this long (default 150s; bookmarks come every minute)
  --ui true|false            serve the web UI under /ui/ on the --bind-address port (default true)
  --log-level LEVEL          debug, info, warn, error (default info)`);
  process.exit(0);
}

const log = newLogger("pacific", flags["log-level"]);
const kc = new k8s.KubeConfig();
if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
else kc.loadFromDefault();

const mgr = new Manager({
  kubeConfig: kc,
  name: "pacific",
  namespace: flags.namespace,
  leaderElection: flags["leader-elect"] !== "false",
  bindAddress: flags["bind-address"],
  secureServing: flags["metrics-cert-dir"]
    ? {
        cert: readFileSync(join(flags["metrics-cert-dir"], "tls.crt")),
        key: readFileSync(join(flags["metrics-cert-dir"], "tls.key")),
      }
    : undefined,
  qps: Number(flags["kube-api-qps"]),
  burst: Number(flags["kube-api-burst"]),
  watchdogMs: parseDuration(flags["watch-timeout"]),
  logger: log,
});

process.on("unhandledRejection", (e) => log.error({ err: String(e) }, "unhandled rejection"));
let config: PacificConfig;
try {
  config = await loadConfig(mgr.client, flags.namespace, flags["settings-configmap"], log);
  config.registry = registryConfigFromEnv(process.env);
} catch (e) {
  // A bad setting is a configuration error: say which, and let the Deployment show CrashLoopBackOff.
  // (An API server that cannot answer yet was waited for in loadConfig.)
  log.error({ err: (e as Error).message }, "cannot load the settings");
  process.exit(1);
}
const inventory = setupControllers(mgr, config);
if (flags.ui !== "false") setupUi(mgr, inventory, config);
mgr.installSignalHandlers();
await mgr.start();
log.info(
  { identity: mgr.identity, leaderElection: flags["leader-elect"] !== "false" },
  "pacific manager started",
);
