// The Kubernetes manifests in deploy/kubernetes/ against the proxy they run: the files parse and are all in the
// kustomization, the portcullis container is locked down as the image allows, and the pod's config, as the
// ConfigMap, the Secret and the container's arguments and environment lay it out, loads with the real loader and
// starts a proxy whose public listener answers the probes.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config, ConfigOverrides } from '../../src/config/load.js';
import { loadConfigFile } from '../../src/config-loader.js';
import { Metrics } from '../../src/observability/metrics.js';
import { Portcullis } from '../../src/portcullis.js';
import { KeyRingError } from '../../src/tokens/keyring.js';
import { SIGNING_KEY_PEM } from '../helpers/fixtures.js';
import { startEchoUpstream, type EchoUpstream } from '../helpers/echo-upstream.js';
import { captureLogger } from '../helpers/proxy.js';

const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));
const MANIFESTS = join(REPOSITORY, 'deploy', 'kubernetes');
const PROXY_CONTAINER = 'portcullis';

type Json = Record<string, unknown>;

interface Manifest {
  file: string;
  kind: string;
  name: string;
  body: Json;
}

interface ContainerPort {
  name?: string;
  containerPort: number;
}

interface HttpProbe {
  httpGet: { path: string; port: string | number };
}

interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
}

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: EnvVar[];
  ports?: ContainerPort[];
  readinessProbe?: HttpProbe;
  livenessProbe?: HttpProbe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    runAsGroup?: number;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
    seccompProfile?: { type: string };
  };
  volumeMounts?: VolumeMount[];
}

interface KeyToPath {
  key: string;
  path: string;
}

interface Volume {
  name: string;
  configMap?: { name: string; items?: KeyToPath[] };
  secret?: { secretName: string; items?: KeyToPath[] };
  emptyDir?: Json;
}

interface PodSpec {
  containers: Container[];
  volumes?: Volume[];
  securityContext?: { seccompProfile?: { type: string } };
}

interface Deployment {
  spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec } };
}

interface Service {
  spec: { selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] };
}

function readManifests(): Manifest[] {
  const manifests: Manifest[] = [];
  for (const file of readdirSync(MANIFESTS).filter((name) => /\.ya?ml$/.test(name)).sort()) {
    for (const document of parseAllDocuments(readFileSync(join(MANIFESTS, file), 'utf8'))) {
      if ('empty' in document) continue;
      expect(document.errors.map((e) => e.message), file).toEqual([]);
      const body = document.toJS() as Json;
      const metadata = (body['metadata'] ?? {}) as Json;
      manifests.push({ file, kind: String(body['kind']), name: String(metadata['name'] ?? ''), body });
    }
  }
  return manifests;
}

const manifests = readManifests();

function one<T>(kind: string, name?: string): T {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.name === name));
  expect(found.length, `${kind} ${name ?? ''}`).toBe(1);
  return found[0]!.body as T;
}

/** The string values of a ConfigMap's data or a Secret's stringData and (base64) data. */
function objectData(kind: 'ConfigMap' | 'Secret', name: string): Map<string, string> {
  const body = one<Json>(kind, name);
  const values = new Map<string, string>();
  for (const [key, value] of Object.entries((body['data'] ?? {}) as Record<string, string>)) values.set(key, kind === 'Secret' ? Buffer.from(value, 'base64').toString('utf8') : value);
  for (const [key, value] of Object.entries((body['stringData'] ?? {}) as Record<string, string>)) values.set(key, value);
  return values;
}

const deployment = one<Deployment>('Deployment');
const pod = deployment.spec.template.spec;
const proxy = pod.containers.find((c) => c.name === PROXY_CONTAINER)!;

/** `--name value` pairs of the container's arguments. */
function argumentValues(args: readonly string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) {
    expect(args[i], `argument ${i} of ${args.join(' ')}`).toMatch(/^--[a-z-]+$/);
    values.set(args[i]!.slice(2), args[i + 1]!);
  }
  return values;
}

const args = argumentValues(proxy.args ?? []);

/** The overrides the CLI makes of the container's arguments. */
function argumentOverrides(): ConfigOverrides {
  const overrides: ConfigOverrides = {};
  for (const [name, value] of args) {
    if (name === 'upstream') overrides.upstream = value;
    else if (name === 'host') overrides.host = value;
    else if (name === 'store') overrides.store = value;
    else if (name === 'port') overrides.port = Number(value);
    else if (name === 'admin-port') overrides.adminPort = Number(value);
    else expect(name, 'a start option').toBe('config');
  }
  return overrides;
}

/** The proxy container's environment, with secret and config-map references looked up in the manifests. */
function containerEnv(container: Container): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const variable of container.env ?? []) {
    const secret = variable.valueFrom?.secretKeyRef;
    const configMap = variable.valueFrom?.configMapKeyRef;
    const value = secret ? objectData('Secret', secret.name).get(secret.key) : configMap ? objectData('ConfigMap', configMap.name).get(configMap.key) : variable.value;
    expect(value, `env ${variable.name}`).toBeDefined();
    env[variable.name] = value;
  }
  return env;
}

/**
 * Writes the files the container sees at its mount paths under `root`: each mounted ConfigMap's and Secret's keys
 * (or only their listed items). Returns the written files by their path in the container.
 */
function layOutMounts(root: string, container: Container): Map<string, string> {
  const written = new Map<string, string>();
  for (const mount of container.volumeMounts ?? []) {
    const volume = (pod.volumes ?? []).find((v) => v.name === mount.name);
    expect(volume, `volume ${mount.name}`).toBeDefined();
    const source = volume!.configMap ?? volume!.secret;
    if (source === undefined) continue;
    const data = volume!.configMap ? objectData('ConfigMap', volume!.configMap.name) : objectData('Secret', volume!.secret!.secretName);
    const items = source.items ?? [...data.keys()].map((key) => ({ key, path: key }));
    for (const { key, path } of items) {
      expect(data.has(key), `${mount.name} has no key ${key}`).toBe(true);
      const inContainer = join(mount.mountPath, path);
      mkdirSync(dirname(join(root, inContainer)), { recursive: true });
      writeFileSync(join(root, inContainer), data.get(key)!);
      written.set(inContainer, data.get(key)!);
    }
  }
  return written;
}

function portNamed(container: Container, port: string | number): number {
  if (typeof port === 'number') return port;
  const found = (container.ports ?? []).find((p) => p.name === port);
  expect(found, `container ${container.name} has no port named ${port}`).toBeDefined();
  return found!.containerPort;
}

function dockerfileUser(): { uid: number; gid: number | null } {
  const users = [...readFileSync(join(REPOSITORY, 'Dockerfile'), 'utf8').matchAll(/^USER\s+(\d+)(?::(\d+))?\s*$/gm)];
  expect(users.length, 'the Dockerfile names its user by number').toBeGreaterThan(0);
  const last = users[users.length - 1]!;
  return { uid: Number(last[1]), gid: last[2] === undefined ? null : Number(last[2]) };
}

/** Mebibytes of a Kubernetes memory quantity such as "512Mi" or "1Gi". */
function mebibytes(quantity: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  expect(match, `memory quantity ${quantity}`).not.toBeNull();
  return Number(match![1]) * (match![2] === 'Gi' ? 1024 : 1);
}

describe('the Kubernetes manifests', () => {
  it('let only the monitoring namespace reach the admin port, and anyone the proxy\'s', () => {
    const policy = one<{ spec: { podSelector: { matchLabels: Record<string, string> }; ingress: Array<{ from?: unknown[]; ports: Array<{ port: string }> }> } }>('NetworkPolicy');
    const deployment = one<{ spec: { template: { metadata: { labels: Record<string, string> } } } }>('Deployment');
    expect(policy.spec.podSelector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
    const open = policy.spec.ingress.filter((rule) => rule.from === undefined).flatMap((rule) => rule.ports.map((p) => p.port));
    expect(open).toEqual(['http']);
    const admin = policy.spec.ingress.find((rule) => rule.ports.some((p) => p.port === 'admin'));
    expect(admin?.from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
  });

  it('are the kinds the sidecar deployment needs, each file in the kustomization', () => {
    expect(manifests.map((m) => `${m.file}: ${m.kind}`).sort()).toEqual(
      [
        'configmap.yaml: ConfigMap',
        'deployment.yaml: Deployment',
        'deployment.yaml: PodDisruptionBudget',
        'kustomization.yaml: Kustomization',
        'networkpolicy.yaml: NetworkPolicy',
        'secret.yaml: Secret',
        'service.yaml: Service',
      ].sort(),
    );
    const kustomization = one<{ resources: string[] }>('Kustomization');
    const files = [...new Set(manifests.filter((m) => m.kind !== 'Kustomization').map((m) => m.file))];
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it('run the portal and the proxy in one pod, the proxy in front of the portal on loopback', () => {
    expect(pod.containers.map((c) => c.name).sort()).toEqual(['portal', PROXY_CONTAINER]);
    expect(args.get('upstream')).toBe('http://127.0.0.1:8081');
    expect(args.get('host')).toBe('0.0.0.0');
    expect(deployment.spec.selector.matchLabels).toEqual(expect.objectContaining(deployment.spec.template.metadata.labels));
    expect(deployment.spec.replicas).toBe(2);
    const budget = one<{ spec: { selector: { matchLabels: Record<string, string> }; minAvailable: number } }>('PodDisruptionBudget');
    expect(budget.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(budget.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
  });

  it('run the proxy as the image\'s unprivileged user, on a read-only root filesystem, with nothing to escalate to', () => {
    const user = dockerfileUser();
    const context = proxy.securityContext ?? {};
    expect(context.runAsNonRoot).toBe(true);
    expect(context.runAsUser).toBe(user.uid);
    expect(user.uid).not.toBe(0);
    if (user.gid !== null) expect(context.runAsGroup).toBe(user.gid);
    expect(context.readOnlyRootFilesystem).toBe(true);
    expect(context.allowPrivilegeEscalation).toBe(false);
    expect(context.capabilities?.drop).toContain('ALL');
    expect(context.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
    for (const container of pod.containers) expect(container.securityContext?.allowPrivilegeEscalation, container.name).toBe(false);
  });

  it('give the proxy resource requests and a memory limit that leaves room for the heap bound it is started with', () => {
    const { requests, limits } = proxy.resources ?? {};
    expect(requests?.['cpu']).toMatch(/^\d+m?$/);
    expect(requests?.['memory']).toMatch(/^\d+(Mi|Gi)$/);
    expect(limits?.['memory']).toMatch(/^\d+(Mi|Gi)$/);
    expect(mebibytes(limits!['memory']!)).toBeGreaterThanOrEqual(mebibytes(requests!['memory']!));
    const heap = /--max-old-space-size=(\d+)/.exec(containerEnv(proxy)['NODE_OPTIONS'] ?? '');
    expect(heap, 'NODE_OPTIONS bounds the heap').not.toBeNull();
    expect(Number(heap![1])).toBeLessThan(mebibytes(limits!['memory']!));
  });

  it('expose only the proxy\'s port, by name, through the Service', () => {
    const service = one<Service>('Service');
    expect(service.spec.selector).toEqual(deployment.spec.template.metadata.labels);
    expect(service.spec.ports).toHaveLength(1);
    const [port] = service.spec.ports;
    expect(typeof port!.targetPort, 'the Service targets the container port by name').toBe('string');
    expect(portNamed(proxy, port!.targetPort)).toBe(8080);
  });

  it('hold only placeholders in the Secret template', () => {
    const secret = objectData('Secret', 'portcullis-secrets');
    expect(secret.size).toBeGreaterThan(0);
    for (const [key, value] of secret) expect(value, key).toMatch(/REPLACE-ME/);
    expect(readFileSync(join(MANIFESTS, 'secret.yaml'), 'utf8')).not.toMatch(/-----BEGIN/);
  });
});

describe('the pod\'s config, laid out as the manifests mount it', () => {
  const root = mkdtempSync(join(tmpdir(), 'portcullis-pod-'));
  const configPath = args.get('config')!;
  const env = containerEnv(proxy);
  let files = new Map<string, string>();
  let upstream: EchoUpstream;
  let config: Config;

  beforeAll(async () => {
    files = layOutMounts(root, proxy);
    upstream = await startEchoUpstream();
  });
  afterAll(async () => {
    await upstream.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** Starts a proxy on the pod's files, on loopback ports and the memory store instead of the pod's Redis. */
  async function startPodProxy(hooks = new Metrics().hooks()): Promise<Portcullis> {
    const local: ConfigOverrides = { ...argumentOverrides(), upstream: upstream.url, host: '127.0.0.1', port: 0, adminPort: 0, store: 'memory' };
    return Portcullis.start({ config: await loadConfigFile(join(root, configPath), local, env), logger: captureLogger([]), hooks });
  }

  it('is the ConfigMap\'s file at the path the container is started with', () => {
    expect(files.has(configPath)).toBe(true);
  });

  it('loads with the real loader, with the container\'s arguments and environment', async () => {
    config = await loadConfigFile(join(root, configPath), argumentOverrides(), env);
    const parsed = config.parsed;
    expect(parsed.listen.host).toBe('0.0.0.0');
    expect(parsed.upstream.url).toBe(args.get('upstream'));
    expect(parsed.routes.length).toBeGreaterThan(0);
    expect(config.clients.size).toBeGreaterThan(0);
    expect(config.signingKeys).toHaveLength(1);
    expect(config.adminTokens.length).toBeGreaterThan(0);
    // Two replicas share their state only through Redis, reached by URL with the password from the Secret.
    expect(parsed.store.type).toBe('redis');
    expect(parsed.store.type === 'redis' ? parsed.store.url : undefined).toMatch(/^redis:\/\//);
    expect(config.redisPassword).toBe(objectData('Secret', 'portcullis-secrets').get('redis-password'));
    // The memory-sized token cache fits the heap bound the container is started with (cache bound + 128 MiB).
    const heap = Number(/--max-old-space-size=(\d+)/.exec(env['NODE_OPTIONS'] ?? '')![1]);
    expect(heap).toBeGreaterThanOrEqual(Math.ceil(parsed.tokens.cacheSize / 1024) + 128);
  });

  it('needs nothing writable: every mount is read-only and the store is not a file', () => {
    expect(config.parsed.store.type).not.toBe('sqlite');
    for (const mount of proxy.volumeMounts ?? []) expect(mount.readOnly, mount.mountPath).toBe(true);
  });

  it('does not start on the Secret template\'s placeholder signing key', async () => {
    await expect(startPodProxy()).rejects.toThrow(new KeyRingError('signing key "key-1" is not a readable PEM (PKCS#8) or JWK private key'));
  });

  it('starts with a real key, and answers the probes on the container port they name', async () => {
    const [key] = config.parsed.tokens.signingKeys;
    expect(key !== undefined && 'file' in key.privateKey, 'the signing key is read from a file').toBe(true);
    // Relative to the config file's directory in the container, as the loader reads it.
    const keyFile = posix.resolve(posix.dirname(configPath), (key!.privateKey as { file: string }).file);
    expect(files.has(keyFile), `${keyFile} is mounted from the Secret`).toBe(true);
    writeFileSync(join(root, keyFile), SIGNING_KEY_PEM);
    const started = await startPodProxy();
    try {
      for (const probe of [proxy.readinessProbe!, proxy.livenessProbe!]) {
        // The probes' port is the public listener's (the admin listener has no /readyz).
        expect(portNamed(proxy, probe.httpGet.port)).toBe(config.parsed.listen.port);
        const response = await fetch(`${started.url}${probe.httpGet.path}`);
        expect(response.status, probe.httpGet.path).toBe(200);
      }
      expect(proxy.readinessProbe!.httpGet.path).toBe('/readyz');
      expect(proxy.livenessProbe!.httpGet.path).toBe('/healthz');
      expect((await fetch(`${started.adminUrl}/readyz`)).status).not.toBe(200);
      // Prometheus scrapes the pod where the annotations say: the admin listener's /metrics.
      const annotations = deployment.spec.template.metadata.annotations ?? {};
      expect(Number(annotations['prometheus.io/port'])).toBe(config.parsed.admin.port);
      expect(portNamed(proxy, 'admin')).toBe(config.parsed.admin.port);
      expect((await fetch(`${started.adminUrl}${annotations['prometheus.io/path']}`)).status).toBe(200);
    } finally {
      await started.close(1000);
    }
  });
});
