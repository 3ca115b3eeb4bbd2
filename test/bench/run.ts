// `npm run bench -- <scenario>`: runs one benchmark; each prints one JSON line on stdout.
const scenarios: Record<string, () => Promise<unknown>> = {
  runtime: () => import("./runtime.ts").then((m) => m.run()),
  "hosts-1k": () => import("./nodes.ts").then((m) => m.hosts1k()),
  "pods-10k": () => import("./nodes.ts").then((m) => m.pods10k()),
  "hosts-5k": () => import("./hosts5k.ts").then((m) => m.hosts5k()),
  soak: () => import("./soak.ts").then((m) => m.soak()),
  namespaces: () => import("./namespaces.ts").then((m) => m.namespaces()),
  tkc: () => import("./tkc.ts").then((m) => m.tkc()),
  guest: () => import("./guest.ts").then((m) => m.guest()),
  ui: () => import("./ui.ts").then((m) => m.ui()),
  registry: () => import("./registry.ts").then((m) => m.registry()),
};

const name = process.argv[2];
const scenario = name ? scenarios[name] : undefined;
if (!scenario) {
  console.error(`usage: npm run bench -- <${Object.keys(scenarios).join("|")}>`);
  process.exit(2);
}
await scenario();
