/** Validates deploy/ against the Kubernetes and Prometheus Operator schemas, then checks that the pieces fit together (names, ports, token, capabilities, memory). */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DEFAULT_STORE_OPTIONS } from '@ctscope/shared';
import {
  PodMonitor,
  PrometheusRule,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import type { Option } from 'commander';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_MAX_FLOWS, expectedPeakRssMb } from '../../src/config.js';
import { buildProgram } from '../../src/program.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const DEPLOY = join(ROOT, 'deploy');

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is checked field by field below
type Doc = any;
type Model = new (data: Doc) => { validate(): void };

const MODELS: Record<string, Model> = {
  'v1/Namespace': Namespace as unknown as Model,
  'v1/ServiceAccount': ServiceAccount as unknown as Model,
  'v1/Service': Service as unknown as Model,
  'v1/Secret': Secret as unknown as Model,
  'apps/v1/DaemonSet': DaemonSet as unknown as Model,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor as unknown as Model,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor as unknown as Model,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule as unknown as Model,
};

/** Throws unless `doc` is a known kind that its schema accepts. */
function validate(doc: Doc): void {
  const key = `${doc?.apiVersion}/${doc?.kind}`;
  const model = MODELS[key];
  if (!model) throw new Error(`no schema for ${key}`);
  new model(doc).validate();
}

function parseYaml(text: string, name: string): Doc[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new Error(`${name}: not a YAML stream`);
  for (const d of docs) if (d.errors.length > 0) throw new Error(`${name}: ${d.errors[0]?.message}`);
  return docs.map((d) => d.toJS()).filter((d) => d !== null);
}

function yamlFiles(dir: string): string[] {
  return (
    readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
      .map((e) => relative(DEPLOY, join(e.parentPath, e.name)))
      // Plain Prometheus rule files are no Kubernetes manifests (promtool checks them: test/prometheus/).
      .filter((f) => !f.startsWith('prometheus/plain/'))
      .sort()
  );
}

const FILES = yamlFiles(DEPLOY);
const byFile = new Map(FILES.map((f) => [f, parseYaml(readFileSync(join(DEPLOY, f), 'utf8'), f)]));
const one = (file: string): Doc => {
  const docs = byFile.get(file);
  if (docs?.length !== 1) throw new Error(`${file}: expected one document`);
  return docs[0];
};
const clone = (d: Doc): Doc => structuredClone(d);

const kustomization = one('kustomization.yaml');
const namespace = one('namespace.yaml');
const serviceAccount = one('serviceaccount.yaml');
const daemonSet = one('daemonset.yaml');
const service = one('service.yaml');
const secret = one('secret.example.yaml');
const serviceMonitor = one('prometheus/servicemonitor.yaml');
const podMonitor = one('prometheus/podmonitor.yaml');
const pod = daemonSet.spec.template.spec;
const container = pod.containers[0];
const env = (name: string): Doc => container.env.find((e: Doc) => e.name === name);

describe('deploy/ manifests against the schemas', () => {
  it('has the expected files', () => {
    expect(FILES).toEqual([
      'daemonset.yaml',
      'kustomization.yaml',
      'namespace.yaml',
      'prometheus/podmonitor.yaml',
      'prometheus/rules.yaml',
      'prometheus/servicemonitor.yaml',
      'secret.example.yaml',
      'service.yaml',
      'serviceaccount.yaml',
    ]);
  });

  it.each(FILES.filter((f) => f !== 'kustomization.yaml'))('%s is valid', (file) => {
    for (const doc of byFile.get(file) ?? []) validate(doc);
  });

  describe('an invalid manifest fails', () => {
    it('a string where the DaemonSet needs an integer port', () => {
      const bad = clone(daemonSet);
      bad.spec.template.spec.containers[0].ports[0].containerPort = '7474';
      expect(() => validate(bad)).toThrow(/containerPort must be integer/);
    });
    it('a DaemonSet without its selector', () => {
      const bad = clone(daemonSet);
      delete bad.spec.selector;
      expect(() => validate(bad)).toThrow(/selector/);
    });
    it('a memory limit that is no quantity', () => {
      const bad = clone(daemonSet);
      bad.spec.template.spec.containers[0].resources.limits.memory = 'half a gig';
      expect(() => validate(bad)).toThrow(/memory/);
    });
    it('a boolean hostNetwork given as a string', () => {
      const bad = clone(daemonSet);
      bad.spec.template.spec.hostNetwork = 'true';
      expect(() => validate(bad)).toThrow(/hostNetwork must be boolean/);
    });
    it('a ServiceMonitor endpoint port given as a number', () => {
      const bad = clone(serviceMonitor);
      bad.spec.endpoints[0].port = 7474;
      expect(() => validate(bad)).toThrow(/port must be string/);
    });
    it('a PodMonitor whose bearer credentials lack the key', () => {
      const bad = clone(podMonitor);
      delete bad.spec.podMetricsEndpoints[0].authorization.credentials.key;
      expect(() => validate(bad)).toThrow(/key/);
    });
    it('an unknown kind', () => {
      expect(() => validate({ ...clone(service), kind: 'Sevrice' })).toThrow(/no schema for v1\/Sevrice/);
    });
    it('broken YAML', () => {
      expect(() => parseYaml('spec:\n  a: [1, 2\n', 'bad.yaml')).toThrow(/bad\.yaml/);
    });
  });
});

describe('deploy/kustomization.yaml', () => {
  it('lists every manifest but the example Secret and the Prometheus monitors', () => {
    const expected = FILES.filter(
      (f) => !f.includes('/') && f !== 'kustomization.yaml' && f !== 'secret.example.yaml',
    );
    expect([...kustomization.resources].sort()).toEqual(expected);
  });
  it('puts everything in the ctscope namespace, which every manifest also names', () => {
    expect(kustomization.namespace).toBe(namespace.metadata.name);
    for (const d of [serviceAccount, daemonSet, service, secret, serviceMonitor, podMonitor])
      expect(d.metadata.namespace).toBe(namespace.metadata.name);
  });
  it('sets the image the DaemonSet uses', () => {
    const [name, tag] = container.image.split(':');
    expect(kustomization.images).toEqual([expect.objectContaining({ name, newTag: tag })]);
  });
  it('the namespace allows privileged pods (hostNetwork, hostPath, NET_ADMIN)', () => {
    expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
  });
});

describe('the DaemonSet', () => {
  it('runs on the node network, on every node, as the ctscope ServiceAccount without an API token', () => {
    expect(pod.hostNetwork).toBe(true);
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod.serviceAccountName).toBe(serviceAccount.metadata.name);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(daemonSet.spec.template.metadata.labels).toMatchObject(daemonSet.spec.selector.matchLabels);
    expect(container.args).toEqual(['serve']);
  });

  it('keeps root with only NET_ADMIN, NET_RAW and SYS_NICE, no escalation, a read-only root filesystem', () => {
    expect(container.securityContext).toEqual({
      runAsUser: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW', 'SYS_NICE'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.hostPID).toBeUndefined();
    expect(pod.hostIPC).toBeUndefined();
  });

  it('mounts exactly the writable paths: recordings, /tmp and the xtables lock', () => {
    const volumes = Object.fromEntries(pod.volumes.map((v: Doc) => [v.name, v]));
    const mounts = Object.fromEntries(container.volumeMounts.map((m: Doc) => [m.mountPath, volumes[m.name]]));
    expect(mounts).toEqual({
      '/var/lib/ctscope': { name: 'data', hostPath: { path: '/var/lib/ctscope', type: 'DirectoryOrCreate' } },
      '/tmp': { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
      '/run/xtables.lock': {
        name: 'xtables-lock',
        hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' },
      },
    });
    expect(env('CTSCOPE_DATA_DIR').value).toBe('/var/lib/ctscope');
  });

  it('binds 0.0.0.0 only with the token from the Secret', () => {
    expect(env('CTSCOPE_HOST').value).toBe('0.0.0.0');
    expect(env('CTSCOPE_TOKEN').valueFrom.secretKeyRef).toEqual({
      name: secret.metadata.name,
      key: Object.keys(secret.stringData)[0],
    });
    expect(env('CTSCOPE_NODE_NAME').valueFrom.fieldRef.fieldPath).toBe('spec.nodeName');
  });

  it('every CTSCOPE_ variable is a ctscope serve option (or the entrypoint’s) with a value it accepts', () => {
    const serve = buildProgram(() => {}).commands.find((c) => c.name() === 'serve');
    const options = new Map<string, Option>(
      (serve?.options ?? []).filter((o) => o.envVar).map((o) => [o.envVar as string, o]),
    );
    for (const e of container.env.filter((x: Doc) => x.name.startsWith('CTSCOPE_'))) {
      if (e.name === 'CTSCOPE_IPTABLES_MODE') {
        expect(['auto', 'nft', 'legacy']).toContain(e.value);
        continue;
      }
      const o = options.get(e.name);
      expect(o, `${e.name} is not an option of ctscope serve`).toBeDefined();
      if (e.value !== undefined && o?.parseArg) expect(() => o.parseArg?.(e.value, undefined)).not.toThrow();
    }
    expect(Number(env('CTSCOPE_RETENTION_HOURS').value)).toBeGreaterThan(0);
    expect(Number(env('CTSCOPE_RETENTION_BYTES').value)).toBeGreaterThanOrEqual(1_048_576);
  });

  it('serves on one port: containerPort = hostPort = CTSCOPE_PORT, and the probes ask /healthz there', () => {
    const [port] = container.ports;
    expect(container.ports).toHaveLength(1);
    expect(port).toEqual({ name: 'http', containerPort: 7474, hostPort: 7474, protocol: 'TCP' });
    expect(Number(env('CTSCOPE_PORT').value)).toBe(port.containerPort);
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe'])
      expect(container[probe].httpGet, probe).toEqual({ path: '/healthz', port: port.name });
  });

  it('caps the V8 heap below the memory limit, which is above the request', () => {
    const mib = (q: string) => {
      const m = /^(\d+)(Mi|Gi)$/.exec(q);
      if (!m) throw new Error(`unexpected quantity ${q}`);
      return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
    };
    const heap = Number(/--max-old-space-size=(\d+)/.exec(env('NODE_OPTIONS').value)?.[1]);
    const { requests, limits } = container.resources;
    expect(mib(requests.memory)).toBe(128);
    expect(mib(limits.memory)).toBe(640);
    expect(heap).toBe(512);
    // --max-flows and the limit agree: the measured peak RSS at the cap, plus 20% headroom, fits the limit.
    const maxFlows = Number(env('CTSCOPE_MAX_FLOWS').value);
    expect(maxFlows).toBe(250_000);
    expect(expectedPeakRssMb(maxFlows) * 1.2).toBeLessThan(mib(limits.memory));
    // The flows at their measured heap (~450 B each, counted as 600) plus a full history (the per-flow byte cap), plus a full dump
    // (~400 B per line) in flight, fit the heap.
    const worstFlowBytes = 600 + DEFAULT_STORE_OPTIONS.maxHistoryBytes;
    expect((maxFlows * (worstFlowBytes + 400)) / 2 ** 20).toBeLessThan(heap);
    // The serve default agrees with the DaemonSet's cap.
    expect(DEFAULT_MAX_FLOWS).toBe(maxFlows);
    expect(heap).toBeLessThan(mib(limits.memory));
  });
});

describe('the Service and the Prometheus monitors', () => {
  const podLabels = daemonSet.spec.template.metadata.labels;

  it('the headless Service selects the pods and targets their port', () => {
    expect(service.spec.clusterIP).toBe('None');
    expect(podLabels).toMatchObject(service.spec.selector);
    expect(service.spec.ports).toEqual([{ name: 'http', port: 7474, targetPort: 'http', protocol: 'TCP' }]);
  });

  it.each([
    ['ServiceMonitor', serviceMonitor, serviceMonitor.spec.endpoints, service.metadata.labels],
    ['PodMonitor', podMonitor, podMonitor.spec.podMetricsEndpoints, podLabels],
  ])('the %s scrapes /metrics with the Secret’s token', (_kind, monitor, endpoints, targetLabels) => {
    expect(targetLabels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.spec.namespaceSelector.matchNames).toEqual([namespace.metadata.name]);
    expect(endpoints).toHaveLength(1);
    expect(endpoints[0]).toMatchObject({
      port: 'http',
      path: '/metrics',
      authorization: {
        type: 'Bearer',
        credentials: { name: secret.metadata.name, key: Object.keys(secret.stringData)[0] },
      },
    });
  });

  it('the example Secret’s placeholder is refused by ctscope (shorter than 12 characters)', () => {
    const token: string = Object.values(secret.stringData)[0] as string;
    expect(token.length).toBeLessThan(12);
  });
});

describe('deploy/README.md', () => {
  it('uses the names and paths of the manifests', () => {
    const readme = readFileSync(join(DEPLOY, 'README.md'), 'utf8');
    for (const s of [
      'docker build -t REGISTRY/ctscope:0.1.0 .',
      'kubectl apply -k deploy/',
      `kubectl -n ${namespace.metadata.name} create secret generic ${secret.metadata.name} --from-literal=${Object.keys(secret.stringData)[0]}=`,
      'kubectl apply -f deploy/prometheus/servicemonitor.yaml',
      'port-forward',
      'NET_ADMIN',
      'NET_RAW',
      'SYS_NICE',
    ])
      expect(readme).toContain(s);
    for (const m of readme.matchAll(/deploy\/[\w./-]+\.(?:ya?ml|md|json)/g))
      expect(
        FILES.map((f) => `deploy/${f}`).concat(
          'deploy/README.md',
          'deploy/grafana/ctscope.json',
          ...readdirSync(join(DEPLOY, 'prometheus', 'plain')).map((f) => `deploy/prometheus/plain/${f}`),
        ),
      ).toContain(m[0]);
  });
});
