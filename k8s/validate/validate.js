#!/usr/bin/env node
// Offline validation of rendered overlays (see ../README.md). Usage:
//   node validate.js --callgraph docs/operations.md --tree k8s \
//        --render dev=dev.yaml --render prod=prod.yaml [--min-replicas prod=2]
// Every problem is printed as "[rule] where: what"; the exit code is 1 if there is any.
'use strict';
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

const errors = [];
const fail = (rule, where, what) => errors.push(`[${rule}] ${where}: ${what}`);

// ---------------------------------------------------------------- arguments
const opts = { render: [], minReplicas: {} };
for (let i = 2; i < process.argv.length; i += 2) {
  const [flag, value] = [process.argv[i], process.argv[i + 1]];
  if (value === undefined) throw new Error(`${flag} needs a value`);
  if (flag === '--callgraph') opts.callgraph = value;
  else if (flag === '--tree') opts.tree = value;
  else if (flag === '--render') opts.render.push(value.split(/=(.*)/s).slice(0, 2));
  else if (flag === '--min-replicas') {
    const [name, n] = value.split('=');
    opts.minReplicas[name] = Number(n);
  } else throw new Error(`unknown flag ${flag}`);
}

// ---------------------------------------------------------------- YAML
function parseDocs(file) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
  const out = [];
  for (const doc of docs) {
    for (const e of doc.errors) fail('yaml', file, e.message);
    const obj = doc.toJS();
    if (obj !== null && obj !== undefined) out.push(obj);
  }
  return out;
}

// ---------------------------------------------------------------- schema + unknown fields
// kubernetes-models ships one compiled JSON-schema validator per kind. Its schemas allow
// unknown properties, so the object is wrapped in a Proxy that records which properties the
// validator reads: it reads every property its schema declares (and every key of a map), so
// a property it never read is not in the schema.
function modelFor(apiVersion, kind) {
  if (!/^[a-z0-9.]+(\/[a-z0-9]+)?$/.test(apiVersion || '') || !/^[A-Za-z]+$/.test(kind || '')) return null;
  try {
    return require(`kubernetes-models/${apiVersion}/${kind}`)[kind];
  } catch (e) {
    if (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') return null;
    throw e;
  }
}

function tracked(root) {
  const read = new WeakMap(); // object -> Set of keys the validator read
  const proxies = new WeakMap();
  const wrap = (value) => {
    if (value === null || typeof value !== 'object') return value;
    if (proxies.has(value)) return proxies.get(value);
    read.set(value, new Set());
    const proxy = new Proxy(value, {
      get(target, key) {
        if (typeof key !== 'string' || !Object.prototype.hasOwnProperty.call(target, key)) {
          return Reflect.get(target, key);
        }
        read.get(target).add(key);
        return wrap(target[key]);
      },
      has(target, key) {
        if (typeof key === 'string') read.get(target).add(key);
        return Reflect.has(target, key);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  return { proxy: wrap(root), read };
}

function unknownFields(value, read, at, found) {
  if (value === null || typeof value !== 'object') return;
  const keys = read.get(value);
  if (!keys) return; // the validator never looked inside (free-form, or its parent failed)
  for (const key of Object.keys(value)) {
    const where = `${at}/${key}`;
    if (!Array.isArray(value) && !keys.has(key)) found.push(where);
    else unknownFields(value[key], read, where, found);
  }
}

function validateSchema(obj, where) {
  const Model = modelFor(obj.apiVersion, obj.kind);
  if (!Model) return fail('schema', where, `unknown apiVersion/kind ${obj.apiVersion}/${obj.kind}`);
  const { proxy, read } = tracked(obj);
  try {
    Model.prototype.validate.call(proxy);
  } catch (e) {
    if (!e.errors) throw e;
    for (const err of e.errors) fail('schema', where, `${err.instancePath || '/'} ${err.message}`);
  }
  const found = [];
  unknownFields(obj, read, '', found);
  for (const f of found) fail('unknown-field', where, f);
}

// ---------------------------------------------------------------- helpers
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob']);
const isLoyalty = (o) => (o.metadata?.labels || {})['app.kubernetes.io/part-of'] === 'loyalty';
const matches = (selector, labels) =>
  Object.entries(selector?.matchLabels || {}).every(([k, v]) => (labels || {})[k] === v);
const SECRET_NAME = /(TOKEN|PASSWORD|SECRET|DATABASE_URL|_KEY)$/;

function podTemplateOf(o) {
  if (o.kind === 'CronJob') return o.spec?.jobTemplate?.spec?.template;
  return WORKLOADS.has(o.kind) ? o.spec?.template : undefined;
}
const podSpecOf = (o) => podTemplateOf(o)?.spec;
const podLabelsOf = (o) => podTemplateOf(o)?.metadata?.labels || {};

// The environment a container sees: envFrom ConfigMaps in order, then env (which wins).
function effectiveEnv(container, configMaps) {
  const env = {};
  for (const src of container.envFrom || []) {
    const cm = src.configMapRef && configMaps.get(src.configMapRef.name);
    Object.assign(env, cm?.data || {});
  }
  for (const e of container.env || []) env[e.name] = e.valueFrom ? { ref: e.valueFrom } : e.value;
  return env;
}

function sleepSeconds(container) {
  const cmd = container.lifecycle?.preStop?.exec?.command || [];
  return /(^|\/)sleep$/.test(cmd[0] || '') ? Number(cmd[1]) || 0 : 0;
}

// ---------------------------------------------------------------- policy rules
function checkContainers(o, where, configMaps) {
  const pod = podSpecOf(o);
  if (!pod) return;
  if (pod.automountServiceAccountToken !== false) {
    fail('security', where, 'automountServiceAccountToken must be false');
  }
  for (const flag of ['hostNetwork', 'hostPID', 'hostIPC']) {
    if (pod[flag]) fail('security', where, `${flag} must not be set`);
  }
  const podSec = pod.securityContext || {};
  const all = [
    ...(pod.initContainers || []).map((c) => [c, true]),
    ...(pod.containers || []).map((c) => [c, false]),
  ];
  for (const [c, init] of all) {
    const at = `${where} container ${c.name}`;
    const sec = c.securityContext || {};
    // Probes: init containers run to completion and cannot have them.
    if (!init) {
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        const p = c[probe];
        if (!p || !(p.grpc || p.httpGet || p.tcpSocket || p.exec)) fail('probes', at, `missing ${probe}`);
      }
    }
    for (const kind of ['requests', 'limits']) {
      for (const res of ['cpu', 'memory']) {
        if (c.resources?.[kind]?.[res] === undefined) fail('resources', at, `missing resources.${kind}.${res}`);
      }
    }
    if ((sec.runAsNonRoot ?? podSec.runAsNonRoot) !== true) fail('security', at, 'runAsNonRoot must be true');
    if ((sec.runAsUser ?? podSec.runAsUser) === 0) fail('security', at, 'runAsUser must not be 0');
    if (sec.readOnlyRootFilesystem !== true) fail('security', at, 'readOnlyRootFilesystem must be true');
    if (sec.allowPrivilegeEscalation !== false) fail('security', at, 'allowPrivilegeEscalation must be false');
    if (sec.privileged) fail('security', at, 'privileged must not be set');
    if (!(sec.capabilities?.drop || []).includes('ALL')) fail('security', at, 'capabilities.drop must include ALL');
    if (sec.capabilities?.add?.length) fail('security', at, 'capabilities.add must be empty');
    const seccomp = (sec.seccompProfile ?? podSec.seccompProfile)?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') fail('security', at, 'seccompProfile must be RuntimeDefault');
    if (!/[:@]/.test((c.image || '').split('/').pop()) || /:latest$/.test(c.image)) {
      fail('image', at, `image ${c.image} needs a pinned tag (not latest)`);
    }
    // Secrets only by reference.
    for (const e of c.env || []) {
      if (SECRET_NAME.test(e.name) && !e.valueFrom?.secretKeyRef) {
        fail('secret-ref', at, `${e.name} must come from a secretKeyRef`);
      }
    }
    for (const src of c.envFrom || []) {
      if (src.configMapRef && !configMaps.has(src.configMapRef.name)) {
        fail('references', at, `envFrom names missing ConfigMap ${src.configMapRef.name}`);
      }
    }
    if (!init && isLoyalty(o)) checkLoyaltyContainer(pod, c, at, effectiveEnv(c, configMaps));
  }
}

// Rules for our own services' main containers, given the environment they will see.
function checkLoyaltyContainer(pod, c, at, env) {
  const grace = Number(env.LOYALTY_SHUTDOWN_GRACE_SECONDS ?? 10); // the services' default is 10
  const budget = grace + sleepSeconds(c);
  const tgps = pod.terminationGracePeriodSeconds ?? 30;
  if (!(tgps > budget)) {
    fail('grace', at, `terminationGracePeriodSeconds ${tgps} must exceed preStop sleep + LOYALTY_SHUTDOWN_GRACE_SECONDS (${budget})`);
  }
  const port = (name) => (c.ports || []).find((p) => p.name === name)?.containerPort;
  if (String(port('grpc')) !== env.LOYALTY_GRPC_PORT) {
    fail('ports', at, `containerPort grpc (${port('grpc')}) must equal LOYALTY_GRPC_PORT (${env.LOYALTY_GRPC_PORT})`);
  }
  if (String(port('metrics')) !== env.LOYALTY_METRICS_PORT) {
    fail('ports', at, `containerPort metrics (${port('metrics')}) must equal LOYALTY_METRICS_PORT (${env.LOYALTY_METRICS_PORT})`);
  }
  const ready = c.readinessProbe?.grpc;
  const live = c.livenessProbe?.grpc;
  if (!ready || ready.port !== port('grpc') || (ready.service || '') !== '') {
    fail('probes', at, 'readinessProbe must be grpc on the gRPC port with the default service ""');
  }
  if (!live || live.port !== port('grpc') || live.service !== 'liveness') {
    fail('probes', at, 'livenessProbe must be grpc on the gRPC port with service "liveness"');
  }
  for (const key of ['LOYALTY_DATABASE_URL', 'LOYALTY_INTERNAL_TOKEN']) {
    if (!env[key]?.ref?.secretKeyRef) fail('secret-ref', at, `${key} must come from a secretKeyRef`);
  }
}

function checkDefaultDeny(objs, where) {
  const deny = objs.find((o) => o.kind === 'NetworkPolicy' &&
    Object.keys(o.spec?.podSelector || {}).every((k) => Object.keys(o.spec.podSelector[k] || {}).length === 0) &&
    ['Ingress', 'Egress'].every((t) => (o.spec.policyTypes || []).includes(t)) &&
    !(o.spec.ingress || []).length && !(o.spec.egress || []).length);
  if (!deny) fail('default-deny', where, 'no NetworkPolicy denies all ingress and egress for every pod (podSelector {}, policyTypes [Ingress, Egress], no rules)');
}

function checkSecrets(objs, where) {
  for (const o of objs) {
    if (o.kind === 'Secret' && (Object.keys(o.data || {}).length || Object.keys(o.stringData || {}).length)) {
      fail('secret-data', `${where}/Secret/${o.metadata?.name}`, 'Secrets must not carry data in git; create them with kubectl (docs/operations.md)');
    }
    if (o.kind === 'ConfigMap') {
      for (const key of Object.keys(o.data || {})) {
        if (SECRET_NAME.test(key)) fail('secret-ref', `${where}/ConfigMap/${o.metadata?.name}`, `${key} looks secret: use the Secret`);
      }
    }
  }
}

function checkServicesAndBudgets(objs, where, minReplicas) {
  const workloads = objs.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind));
  for (const svc of objs.filter((o) => o.kind === 'Service')) {
    if (!workloads.some((w) => matches({ matchLabels: svc.spec?.selector }, podLabelsOf(w)))) {
      fail('references', `${where}/Service/${svc.metadata.name}`, 'selector matches no workload');
    }
  }
  for (const d of workloads.filter((o) => o.kind === 'Deployment' && isLoyalty(o))) {
    const at = `${where}/Deployment/${d.metadata.name}`;
    const labels = podLabelsOf(d);
    if (!objs.some((o) => o.kind === 'PodDisruptionBudget' && matches(o.spec?.selector, labels))) {
      fail('pdb', at, 'no PodDisruptionBudget selects it');
    }
    const hpa = objs.find((o) => o.kind === 'HorizontalPodAutoscaler' &&
      o.spec?.scaleTargetRef?.kind === 'Deployment' && o.spec.scaleTargetRef.name === d.metadata.name);
    if (hpa && d.spec.replicas !== undefined) fail('replicas', at, 'has an HPA: leave spec.replicas unset');
    const least = hpa ? (hpa.spec.minReplicas ?? 1) : (d.spec.replicas ?? 1);
    if (minReplicas && least < minReplicas) fail('replicas', at, `runs ${least} replica(s) at least; this overlay needs ${minReplicas}`);
  }
}

// ---------------------------------------------------------------- call graph vs NetworkPolicies
function readCallGraph(file) {
  const text = fs.readFileSync(file, 'utf8');
  const block = /```callgraph\n([\s\S]*?)```/.exec(text);
  if (!block) throw new Error('no ```callgraph block');
  const edges = [];
  for (const raw of block[1].split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const m = /^(\S+)\s*->\s*(.+)$/.exec(line);
    if (!m) throw new Error(`cannot read call graph line "${raw}"`);
    for (const to of m[2].split(',')) edges.push([m[1], to.trim()]);
  }
  return edges;
}

// What the NetworkPolicies allow, as [fromPeer, toPod, protocol/port] facts; a peer is a
// service name, "ns:<namespace>" for another namespace, or "*" for anywhere.
function allowed(objs, where) {
  const pods = objs.filter((o) => WORKLOADS.has(o.kind)).map((o) => ({
    name: isLoyalty(o) ? o.metadata.name.replace(/^loyalty-/, '') : o.metadata.name,
    labels: podLabelsOf(o),
  }));
  const peersOf = (list) => {
    if (!list || !list.length) return ['*'];
    return list.flatMap((peer) => {
      if (peer.podSelector?.matchExpressions || peer.namespaceSelector?.matchExpressions) {
        fail('callgraph', where, 'NetworkPolicy peers must use matchLabels only');
      }
      if (peer.ipBlock) return ['*'];
      if (peer.namespaceSelector) {
        // Without a namespace name it may select our own namespace too: treat it as anywhere.
        const ns = peer.namespaceSelector.matchLabels?.['kubernetes.io/metadata.name'];
        return [ns ? `ns:${ns}` : '*'];
      }
      return pods.filter((p) => matches(peer.podSelector, p.labels)).map((p) => p.name);
    });
  };
  const portsOf = (list) => (!list || !list.length) ? ['any']
    : list.map((p) => (p.port === undefined ? 'any' : `${p.protocol || 'TCP'}/${p.port}`));
  const ingress = [];
  const egress = [];
  for (const np of objs.filter((o) => o.kind === 'NetworkPolicy')) {
    const selected = pods.filter((p) => matches(np.spec.podSelector, p.labels)).map((p) => p.name);
    const types = np.spec.policyTypes || ['Ingress'];
    if (types.includes('Ingress')) {
      for (const rule of np.spec.ingress || []) {
        for (const to of selected) for (const from of peersOf(rule.from)) for (const port of portsOf(rule.ports)) ingress.push([from, to, port]);
      }
    }
    if (types.includes('Egress')) {
      for (const rule of np.spec.egress || []) {
        for (const from of selected) for (const to of peersOf(rule.to)) for (const port of portsOf(rule.ports)) egress.push([from, to, port]);
      }
    }
  }
  return { ingress, egress };
}

function checkCallGraph(objs, configMaps, edges, where) {
  const services = objs.filter((o) => o.kind === 'Deployment' && isLoyalty(o)).map((d) => {
    const c = podSpecOf(d)?.containers?.[0] || {};
    const port = (n) => (c.ports || []).find((p) => p.name === n)?.containerPort;
    return {
      name: d.metadata.name.replace(/^loyalty-/, ''),
      labels: podLabelsOf(d),
      grpc: `TCP/${port('grpc')}`,
      metrics: `TCP/${port('metrics')}`,
      env: effectiveEnv(c, configMaps),
    };
  });
  const names = services.map((s) => s.name);
  const { ingress, egress } = allowed(objs, where);
  const has = (facts, from, to, port) => facts.some(([f, t, p]) =>
    (f === from || f === '*') && (t === to || t === '*') && (p === port || p === 'any'));
  const open = (from, to, port) => has(egress, from, to, port) && has(ingress, from, to, port);

  const want = new Set();
  for (const [from, to] of edges) {
    const sources = from === '*' ? names : [from];
    for (const src of sources) {
      if (names.includes(src) && names.includes(to)) want.add(`${src}->${to}`);
      else if (src === 'storefront-ingress' && names.includes(to)) {
        if (!services.some((s) => s.name === to && ingress.some(([f, t, p]) => f.startsWith('ns:') && t === to && (p === s.grpc || p === 'any')))) {
          fail('callgraph', where, `storefront-ingress -> ${to}: no NetworkPolicy lets another namespace reach its gRPC port`);
        }
      } else if (src === 'prometheus' && names.includes(to)) {
        const s = services.find((x) => x.name === to);
        if (!ingress.some(([f, t, p]) => f.startsWith('ns:') && t === to && (p === s.metrics || p === 'any'))) {
          fail('callgraph', where, `prometheus -> ${to}: no NetworkPolicy lets the scraper reach metrics port ${s.metrics}`);
        }
      } else if (names.includes(src) && (to === 'postgres' || to === 'dns')) {
        const ports = to === 'postgres' ? ['TCP/5432'] : ['UDP/53', 'TCP/53'];
        for (const port of ports) {
          if (!egress.some(([f, , p]) => f === src && (p === port || p === 'any'))) {
            fail('callgraph', where, `${src} -> ${to}: no egress on ${port}`);
          }
        }
      } else {
        fail('callgraph', where, `call graph edge ${from} -> ${to} names nothing deployed here`);
      }
    }
  }
  // Service to service: exactly the graph's edges are open, on the callee's gRPC port.
  for (const a of services) {
    for (const b of services) {
      if (a === b) continue;
      const isOpen = open(a.name, b.name, b.grpc);
      const wanted = want.has(`${a.name}->${b.name}`);
      if (wanted && !isOpen) fail('callgraph', where, `${a.name} -> ${b.name} is in the call graph but NetworkPolicies block it`);
      if (!wanted && isOpen) fail('callgraph', where, `${a.name} -> ${b.name} is open in NetworkPolicies but not in the call graph`);
      const addr = a.env[`LOYALTY_${b.name.toUpperCase()}_ADDR`];
      if (wanted && addr !== `loyalty-${b.name}:${b.grpc.split('/')[1]}`) {
        fail('callgraph', where, `${a.name} calls ${b.name}: LOYALTY_${b.name.toUpperCase()}_ADDR should be loyalty-${b.name}:${b.grpc.split('/')[1]}, is ${JSON.stringify(addr)}`);
      }
      if (!wanted && addr !== undefined) fail('callgraph', where, `${a.name} does not call ${b.name} in the call graph but has LOYALTY_${b.name.toUpperCase()}_ADDR`);
    }
    // No other namespace reaches a gRPC port unless the graph says storefront-ingress -> it.
    const external = ingress.some(([f, t, p]) => (f.startsWith('ns:') || f === '*') && t === a.name && (p === a.grpc || p === 'any'));
    if (external && !edges.some(([f, t]) => f === 'storefront-ingress' && t === a.name)) {
      fail('callgraph', where, `${a.name}'s gRPC port is open to other namespaces, but the call graph has no storefront-ingress -> ${a.name}`);
    }
  }
}

// ---------------------------------------------------------------- committed files
function scanTree(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) scanTree(p);
    } else if (/\.ya?ml$/.test(entry.name)) {
      const objs = parseDocs(p);
      checkSecrets(objs.filter((o) => o.kind === 'Secret'), p);
      for (const o of objs) {
        for (const g of o.secretGenerator || []) {
          if ((g.literals || []).length) fail('secret-data', p, `secretGenerator ${g.name} has literals: secrets must not be committed`);
        }
      }
    }
  }
}

// ---------------------------------------------------------------- main
let edges = [];
try {
  edges = readCallGraph(opts.callgraph);
} catch (e) {
  fail('callgraph', opts.callgraph, e.message);
}
if (opts.tree) scanTree(opts.tree);
for (const [name, file] of opts.render) {
  const objs = parseDocs(file);
  if (!objs.length) fail('render', name, `${file} has no objects`);
  const configMaps = new Map(objs.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o]));
  for (const o of objs) {
    const where = `${name}/${o.kind}/${o.metadata?.name}`;
    validateSchema(o, where);
    checkContainers(o, where, configMaps);
  }
  checkDefaultDeny(objs, name);
  checkSecrets(objs, name);
  checkServicesAndBudgets(objs, name, opts.minReplicas[name]);
  checkCallGraph(objs, configMaps, edges, name);
  console.log(`${name}: ${objs.length} objects checked`);
}
for (const e of errors) console.log(e);
if (errors.length) {
  console.log(`validation FAILED: ${errors.length} problem(s)`);
  process.exit(1);
}
console.log('validation passed');
