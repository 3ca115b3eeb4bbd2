#!/usr/bin/env node
// Generates, from the ClusterClasses a Supervisor ships (clusterclasses/*.yaml, the single source of
// their variable schemas):
//   controllers/api/clusterclasses.ts                      what the manager publishes (and the topology
//                                                          controller reads: worker classes, defaults)
//   charts/pacific/templates/clusterclass-policy.yaml      the ValidatingAdmissionPolicy that refuses a
//                                                          Cluster whose topology does not fit its class
//   node hack/gen-clusterclasses.mjs          write the files
//   node hack/gen-clusterclasses.mjs --check  exit 1 when a generated file is stale (CI, hack/test.sh)
// The CEL is built from each variable's openAPIV3Schema (the subset Cluster API allows): type, enum,
// required, properties (unknown fields refused unless x-kubernetes-preserve-unknown-fields),
// additionalProperties, items, min/max, minLength/maxLength, minItems/maxItems, pattern. Every
// message names the field's path, e.g. spec.topology.variables[node].value.taints[*].effect.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parse, stringify } from "yaml";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const srcDir = join(root, "clusterclasses");
export const TS_OUT = join(root, "controllers", "api", "clusterclasses.ts");
export const POLICY_OUT = join(root, "charts", "pacific", "templates", "clusterclass-policy.yaml");
export const POLICY_NAME = "pacific-cluster-topology";

/** The shipped classes, sorted by name (merge keys allowed: schemas share parts). */
export function loadClasses(dir = srcDir) {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => parse(readFileSync(join(dir, f), "utf8"), { merge: true }));
}

/** A CEL string literal. */
export const lit = (s) => `'${String(s).replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
const celValue = (v) => (typeof v === "string" ? lit(v) : JSON.stringify(v));
const celList = (vs) => `[${vs.map(celValue).join(", ")}]`;
const shown = (vs) => vs.map((v) => JSON.stringify(v)).join(", ");

const TYPE_TEST = {
  string: (x) => `type(${x}) == string`,
  integer: (x) => `type(${x}) == int`,
  number: (x) => `(type(${x}) == int || type(${x}) == double)`,
  boolean: (x) => `type(${x}) == bool`,
  object: (x) => `type(${x}) == map`,
  array: (x) => `type(${x}) == list`,
};
const A = { string: "a string", integer: "an integer", number: "a number", boolean: "a boolean" };

/**
 * The checks one schema makes of the CEL value `x`, each { cond, msg, msgExpr? }: `cond` holds when the
 * value is fine on that point; `msg` names the path; `msgExpr` (CEL, only outside array/map
 * quantifiers, where `x` is still addressable) says more, e.g. which field is unknown.
 * Checks below a wrong type are skipped (guarded), so a value gets one message: the first.
 * `compact`: one check, the whole schema as one predicate (nested schemas are not split into leaves).
 */
export function schemaChecks(s, path, x, depth = 0, compact = false) {
  const typeTest = s.type ? TYPE_TEST[s.type] : undefined;
  if (s.type && !typeTest) throw new Error(`${path}: unsupported type ${s.type}`);
  const inner = [];
  if (s.enum)
    inner.push({ cond: `${x} in ${celList(s.enum)}`, msg: `${path}: must be one of ${shown(s.enum)}` });
  if (s.minLength !== undefined)
    inner.push({ cond: `size(${x}) >= ${s.minLength}`, msg: `${path}: at least ${s.minLength} characters` });
  if (s.maxLength !== undefined)
    inner.push({ cond: `size(${x}) <= ${s.maxLength}`, msg: `${path}: at most ${s.maxLength} characters` });
  if (s.pattern !== undefined)
    inner.push({ cond: `${x}.matches(${lit(s.pattern)})`, msg: `${path}: must match ${s.pattern}` });
  if (s.minimum !== undefined)
    inner.push({ cond: `${x} >= ${s.minimum}`, msg: `${path}: must be at least ${s.minimum}` });
  if (s.maximum !== undefined)
    inner.push({ cond: `${x} <= ${s.maximum}`, msg: `${path}: must be at most ${s.maximum}` });
  if (s.minItems !== undefined)
    inner.push({ cond: `size(${x}) >= ${s.minItems}`, msg: `${path}: at least ${s.minItems} items` });
  if (s.maxItems !== undefined)
    inner.push({ cond: `size(${x}) <= ${s.maxItems}`, msg: `${path}: at most ${s.maxItems} items` });
  if (s.type === "object" || s.properties) {
    for (const r of s.required ?? [])
      inner.push({ cond: `${lit(r)} in ${x}`, msg: `${path}.${r}: required` });
    const props = Object.keys(s.properties ?? {});
    if (!s["x-kubernetes-preserve-unknown-fields"] && !s.additionalProperties) {
      const known = celList(props);
      const list = props.join(", ") || "none";
      inner.push({
        cond: `${x}.all(k, k in ${known})`,
        msg: `${path}: unknown field (known: ${list})`,
        msgExpr: `${lit(`${path}.`)} + ${x}.filter(k, !(k in ${known}))[0] + ${lit(`: unknown field (known: ${list})`)}`,
      });
    }
    for (const [p, ps] of Object.entries(s.properties ?? {})) {
      const sub = `${x}[${lit(p)}]`;
      if (compact) inner.push({ cond: `!(${lit(p)} in ${x}) || (${validExpr(ps, sub, depth)})` });
      else
        for (const c of schemaChecks(ps, `${path}.${p}`, sub, depth))
          inner.push({ ...c, cond: `!(${lit(p)} in ${x}) || ${c.cond}` });
    }
    if (s.additionalProperties && typeof s.additionalProperties === "object") {
      const k = `k${depth}`;
      if (compact)
        inner.push({ cond: `${x}.all(${k}, ${validExpr(s.additionalProperties, `${x}[${k}]`, depth + 1)})` });
      else
        for (const c of schemaChecks(s.additionalProperties, `${path}[*]`, `${x}[${k}]`, depth + 1))
          inner.push({ cond: `${x}.all(${k}, ${c.cond})`, msg: c.msg });
    }
  }
  if (s.items) {
    const e = `e${depth}`;
    if (compact) inner.push({ cond: `${x}.all(${e}, ${validExpr(s.items, e, depth + 1)})` });
    else
      for (const c of schemaChecks(s.items, `${path}[*]`, e, depth + 1))
        inner.push({ cond: `${x}.all(${e}, ${c.cond})`, msg: c.msg });
  }
  if (compact) {
    const all = [...(typeTest ? [typeTest(x)] : []), ...inner.map((c) => `(${c.cond})`)];
    return all.length ? [{ cond: all.join(" && ") }] : [];
  }
  const out = typeTest ? [{ cond: typeTest(x), msg: `${path}: must be ${A[s.type] ?? `an ${s.type}`}` }] : [];
  for (const c of inner) out.push(typeTest ? { ...c, cond: `!(${typeTest(x)}) || ${c.cond}` } : c);
  return out;
}

/** The overrides of one machineDeployments[] entry (`md`), [] when it has none. */
const MD_OVERRIDES = "(has(md.variables) && has(md.variables.overrides) ? md.variables.overrides : [])";
/** Placeholders: the value checked (CEL) and its path (at the start of a message literal). */
const X = "$X";
const P = "@P";
const bind = (s, token, to) => s.split(token).join(to);

/**
 * Whether `x` fits schema `s`, as one compact CEL predicate (the messages come from schemaChecks,
 * evaluated only when this is false).
 */
export function validExpr(s, x, depth = 0) {
  return schemaChecks(s, P, x, depth, true)[0]?.cond ?? "true";
}

/**
 * Every variable a Cluster sets, wherever: topology.variables, the control plane's overrides and each
 * machine deployment's, as { at, name, value } (`at` is the path the messages name).
 */
const SCOPED = [
  "variables.tv.map(v, {'at': dyn('spec.topology.variables[' + v.name + ']'), 'name': dyn(v.name), 'value': dyn(v.value)})",
  "variables.cpo.map(v, {'at': dyn('spec.topology.controlPlane.variables.overrides[' + v.name + ']'), 'name': dyn(v.name), 'value': dyn(v.value)})",
  `variables.mds.map(md, ${MD_OVERRIDES}.map(v, {'at': dyn('spec.topology.workers.machineDeployments[' + md.name + '].variables.overrides[' + v.name + ']'), 'name': dyn(v.name), 'value': dyn(v.value)})).flatten()`,
].join(" + ");

/** A message literal starting with the path placeholder, made relative to the CEL path `at`. */
const at = (msgCel, atExpr) => bind(msgCel, `'${P}`, `${atExpr} + '`);

/** The policy variables and validations of one ClusterClass (index `ci`). */
export function classRules(cc, ci) {
  const name = cc.metadata.name;
  const guard = `variables.cls != ${lit(name)} || `;
  const vars = cc.spec.variables ?? [];
  const names = celList(vars.map((v) => v.name));
  const workers = (cc.spec.workers?.machineDeployments ?? []).map((w) => w.class);
  const known = vars.map((v) => v.name).join(", ");
  const validations = [];
  const policyVariables = [];
  const wrongClass = `variables.mds.filter(md, !(md.class in ${celList(workers)}))[0]`;
  validations.push({
    expression: `${guard}variables.mds.all(md, md.class in ${celList(workers)})`,
    messageExpression: `'spec.topology.workers.machineDeployments[' + ${wrongClass}.name + '].class: ' + ${wrongClass}.class + ${lit(` is not a worker class of ClusterClass ${name} (${workers.join(", ")})`)}`,
    reason: "Invalid",
  });
  const req = vars.filter((v) => v.required).map((v) => v.name);
  if (req.length)
    validations.push({
      expression: `${guard}${celList(req)}.all(r, variables.tv.exists(v, v.name == r))`,
      messageExpression: `'spec.topology.variables[' + ${celList(req)}.filter(r, !variables.tv.exists(v, v.name == r))[0] + ${lit(`]: required variable of ClusterClass ${name} is missing`)}`,
      reason: "Invalid",
    });
  validations.push({
    expression: `${guard}variables.scoped.all(s, s.name in ${names})`,
    messageExpression: `variables.scoped.filter(s, !(s.name in ${names}))[0].at + ${lit(`: unknown variable of ClusterClass ${name} (known: ${known})`)}`,
    reason: "Invalid",
  });
  vars.forEach((v, vi) => {
    const schema = v.schema.openAPIV3Schema;
    const checks = schemaChecks(schema, P, X);
    if (!checks.length) return;
    const bad = `bad${ci}_${vi}`;
    policyVariables.push({
      name: bad,
      expression: `variables.scoped.filter(s, s.name == ${lit(v.name)} && !(${validExpr(schema, "s.value")}))`,
    });
    // The first bad value, by name (policy variables are evaluated lazily: only when it exists).
    policyVariables.push({ name: `first${ci}_${vi}`, expression: `variables.${bad}[0]` });
    const first = `variables.first${ci}_${vi}`;
    validations.push({
      expression: `${guard}size(variables.${bad}) == 0`,
      messageExpression: chain(
        checks.map((c) => ({
          failing: `!(${bind(c.cond, X, `${first}.value`)})`,
          message: at(bind(c.msgExpr ?? lit(c.msg), X, `${first}.value`), `${first}.at`).replace(
            `${first}.at + '`,
            `${first}.at + '.value`,
          ),
        })),
        `${v.name}: invalid`,
        `${first}.at + ': invalid'`,
      ),
      reason: "Invalid",
    });
  });
  return { policyVariables, validations };
}

/** A message chain: the first failing check's message (a CEL string expression). */
function chain(branches, _fallback, fallbackExpr) {
  return branches.reduceRight((rest, b) => `${b.failing} ? ${b.message} : ${rest}`, fallbackExpr);
}

/** Where a class lives: every Supervisor Namespace (no namespace in its source) or one namespace. */
export const classHome = (cc) => cc.metadata.namespace;

/** The policy: the class is one the Supervisor ships, in the namespace it lives in; CP replicas; then each class's rules. */
export function policySpec(classes) {
  const rules = classes.map(classRules);
  const names = classes.map((c) => c.metadata.name);
  const homes = [...new Set(classes.map(classHome).filter(Boolean))];
  const offered = classes
    .map((c) => (classHome(c) ? `${c.metadata.name} (classNamespace: ${classHome(c)})` : c.metadata.name))
    .join(", ");
  const where = classes.map((c) => {
    const home = classHome(c);
    return home
      ? {
          expression: `variables.cls != ${lit(c.metadata.name)} || variables.cns == ${lit(home)}`,
          message: `spec.topology.classNamespace: ClusterClass ${c.metadata.name} is in ${home}; set classNamespace: ${home}`,
          reason: "Invalid",
        }
      : {
          expression: `variables.cls != ${lit(c.metadata.name)} || variables.cns == object.metadata.namespace`,
          message: `spec.topology.classNamespace: ClusterClass ${c.metadata.name} is in every Supervisor Namespace; leave classNamespace out (or name the Cluster's own namespace)`,
          reason: "Invalid",
        };
  });
  return {
    failurePolicy: "Fail",
    matchConstraints: {
      resourceRules: [
        {
          apiGroups: ["cluster.x-k8s.io"],
          apiVersions: ["v1beta1"],
          operations: ["CREATE", "UPDATE"],
          resources: ["clusters"],
        },
      ],
    },
    // Only a topology that is new or changed is judged: a finalizer or label change of a Cluster
    // admitted before never is.
    matchConditions: [
      { name: "has-topology", expression: "has(object.spec.topology)" },
      {
        name: "topology-changed",
        expression:
          "request.operation == 'CREATE' || !has(oldObject.spec.topology) || oldObject.spec.topology != object.spec.topology",
      },
    ],
    variables: [
      { name: "cls", expression: "object.spec.topology.class" },
      {
        name: "cns",
        expression:
          "has(object.spec.topology.classNamespace) && object.spec.topology.classNamespace != '' ? object.spec.topology.classNamespace : object.metadata.namespace",
      },
      {
        name: "tv",
        expression: "has(object.spec.topology.variables) ? object.spec.topology.variables : []",
      },
      {
        name: "cpo",
        expression:
          "has(object.spec.topology.controlPlane) && has(object.spec.topology.controlPlane.variables) && has(object.spec.topology.controlPlane.variables.overrides) ? object.spec.topology.controlPlane.variables.overrides : []",
      },
      {
        name: "mds",
        expression:
          "has(object.spec.topology.workers) && has(object.spec.topology.workers.machineDeployments) ? object.spec.topology.workers.machineDeployments : []",
      },
      { name: "scoped", expression: SCOPED },
      ...rules.flatMap((r) => r.policyVariables),
    ],
    validations: [
      {
        expression: `variables.cls in ${celList(names)}`,
        messageExpression: `'spec.topology.class: unknown ClusterClass ' + variables.cls + ${lit(`; the Supervisor offers ${offered}`)}`,
        reason: "Invalid",
      },
      {
        expression: `variables.cns == object.metadata.namespace || variables.cns in ${celList(homes)}`,
        messageExpression: `'spec.topology.classNamespace: ' + variables.cns + ${lit(` is neither the Cluster's namespace nor ${homes.join(", ")}`)}`,
        reason: "Invalid",
      },
      ...where,
      {
        expression:
          "!has(object.spec.topology.controlPlane) || !has(object.spec.topology.controlPlane.replicas) || (object.spec.topology.controlPlane.replicas >= 1 && object.spec.topology.controlPlane.replicas <= 7 && object.spec.topology.controlPlane.replicas % 2 == 1)",
        messageExpression:
          "'spec.topology.controlPlane.replicas: must be odd, from 1 to 7 (etcd needs a majority); got ' + string(object.spec.topology.controlPlane.replicas)",
        reason: "Invalid",
      },
      ...rules.flatMap((r) => r.validations),
    ],
  };
}

function policyYaml(classes) {
  const spec = policySpec(classes);
  if (/\{\{|\}\}/.test(JSON.stringify(spec)))
    throw new Error("the policy's CEL contains {{ or }}, which helm would read as a template");
  const body = (o) =>
    stringify(o, { lineWidth: 0, minContentWidth: 0 })
      .trimEnd()
      .split("\n")
      .map((l) => `  ${l}`)
      .join("\n");
  const text = [
    "# Generated by hack/gen-clusterclasses.mjs from clusterclasses/*.yaml. Do not edit.",
    "{{- if .Values.admissionPolicy.enabled }}",
    "# A Cluster with a managed topology must fit the ClusterClass it names, as Cluster API's webhook",
    "# checks it: a class the Supervisor ships, in the namespace it lives in, worker classes of the class,",
    "# only the class's variables (required ones set), each value of its schema; an odd control plane",
    "# of at most 7. Refused by the API server with the field's path; no webhook. docs/clusterclass.md.",
    "apiVersion: admissionregistration.k8s.io/v1",
    "kind: ValidatingAdmissionPolicy",
    "metadata:",
    `  name: ${POLICY_NAME}`,
    "  labels:",
    '    {{- include "pacific.labels" . | nindent 4 }}',
    "spec:",
    body(spec),
    "---",
    "apiVersion: admissionregistration.k8s.io/v1",
    "kind: ValidatingAdmissionPolicyBinding",
    "metadata:",
    `  name: ${POLICY_NAME}`,
    "  labels:",
    '    {{- include "pacific.labels" . | nindent 4 }}',
    "spec:",
    `  policyName: ${POLICY_NAME}`,
    "  validationActions: [Deny]",
    "{{- end }}",
    "",
  ].join("\n");
  return text;
}

function tsModule(classes) {
  const published = (pred) =>
    JSON.stringify(
      classes.filter(pred).map((c) => ({ apiVersion: c.apiVersion, kind: c.kind, ...c })),
      null,
      2,
    );
  const homes = [...new Set(classes.map(classHome).filter(Boolean))];
  return [
    "// Generated by hack/gen-clusterclasses.mjs from clusterclasses/*.yaml. Do not edit.",
    "// The ClusterClasses a Supervisor ships: those of every Supervisor Namespace (no namespace) and",
    "// the public ones of the vSphere Kubernetes Service (their namespace set).",
    'import type { ClusterClass } from "./cluster/clusterclass.ts";',
    "",
    "/** Where the public classes live; Clusters name them with topology.classNamespace. */",
    `export const PUBLIC_CLASS_NAMESPACE = ${JSON.stringify(homes[0] ?? "")};`,
    "",
    "/** Published in every Supervisor Namespace. */",
    `export const namespaceClasses: ClusterClass[] = ${published((c) => !classHome(c))};`,
    "",
    "/** Published once, in PUBLIC_CLASS_NAMESPACE. */",
    `export const publicClasses: ClusterClass[] = ${published((c) => Boolean(classHome(c)))};`,
    "",
  ].join("\n");
}

/** Every generated file and its content. */
export function generate(classes = loadClasses()) {
  return new Map([
    [TS_OUT, tsModule(classes)],
    [POLICY_OUT, policyYaml(classes)],
  ]);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const check = process.argv.includes("--check");
  let stale = 0;
  for (const [path, body] of generate()) {
    const current = existsSync(path) ? readFileSync(path, "utf8") : "";
    if (current === body) continue;
    stale++;
    if (check) console.error(`stale: ${path.slice(root.length + 1)} (run npm run generate)`);
    else {
      writeFileSync(path, body);
      console.log(`wrote ${path.slice(root.length + 1)}`);
    }
  }
  if (check && stale > 0) process.exit(1);
}
