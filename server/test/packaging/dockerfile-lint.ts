/** The rules ctscope's Dockerfile must follow (pinned bases, cached dependency layer, slim runtime, health check, exec-form start), as a lint over dockerfile-ast. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Cmd,
  Copy,
  DockerfileParser,
  type Entrypoint,
  type From,
  type Instruction,
} from 'dockerfile-ast';

export const RUNTIME_PACKAGES = ['conntrack', 'iptables', 'nftables', 'ipvsadm', 'iproute2'] as const;
const WORKSPACES = ['shared', 'server', 'web'] as const;
const MANIFESTS = ['package.json', 'package-lock.json', ...WORKSPACES.map((w) => `${w}/package.json`)];
/** An exact release tag such as 20.20.2-bookworm-slim: three version numbers, optionally a variant. */
const EXACT_TAG = /^\d+\.\d+\.\d+(-[a-z0-9][a-z0-9.-]*)?$/;

interface Stage {
  from: From;
  name: string | null;
  instructions: Instruction[];
}

export interface LintOptions {
  /** Repository root: when given, every build-context COPY source must exist there and not be .dockerignore'd. */
  contextDir?: string;
  dockerignore?: string;
}

/** Problems found, one sentence each; empty when the Dockerfile passes. */
export function lintDockerfile(text: string, opts: LintOptions = {}): string[] {
  const problems: string[] = [];
  const stages = splitStages(DockerfileParser.parse(text).getInstructions());
  if (stages.length < 2) problems.push(`multi-stage build expected, found ${stages.length} FROM`);

  const names = new Set<string>();
  for (const s of stages) {
    problems.push(...checkFrom(s.from, names));
    if (s.name) names.add(s.name.toLowerCase());
  }

  const all = stages.flatMap((s) => s.instructions);
  const runs = all.filter((i) => i.getKeyword() === 'RUN').map((i) => ({ i, text: args(i) }));
  const npmCi = runs.find((r) => /\bnpm ci\b/.test(r.text) && !/--omit=dev/.test(r.text));
  if (!npmCi) problems.push('no RUN npm ci installs the dependencies');
  else {
    const before = all.slice(0, all.indexOf(npmCi.i)).filter((i) => i.getKeyword() === 'COPY');
    const copied = new Set(before.flatMap((c) => copySources(c)));
    for (const m of MANIFESTS)
      if (!copied.has(m))
        problems.push(`${m} is not copied before npm ci (the dependency layer would not cache)`);
    for (const c of before)
      for (const src of copySources(c))
        if (!MANIFESTS.includes(src))
          problems.push(
            `COPY ${src} comes before npm ci: only package manifests may, or every source edit reinstalls`,
          );
    const sourcesAfter = all
      .slice(all.indexOf(npmCi.i) + 1)
      .filter((i) => i.getKeyword() === 'COPY' && !fromFlag(i))
      .flatMap((c) => copySources(c));
    for (const w of WORKSPACES)
      if (!sourcesAfter.some((s) => s.replace(/\/$/, '') === w))
        problems.push(`the ${w}/ sources are not copied after npm ci`);
  }
  if (!runs.some((r) => /\bnpm run build\b/.test(r.text))) problems.push('no RUN npm run build');
  if (!runs.some((r) => /release-build\.sh|npm ci\b.*--omit=dev|npm prune\b.*--omit=dev/.test(r.text)))
    problems.push('production dependencies are never isolated (release-build.sh, npm ci/prune --omit=dev)');

  const runtime = stages.at(-1);
  if (runtime) problems.push(...checkRuntime(runtime, stages));
  if (opts.contextDir) problems.push(...checkContext(all, opts.contextDir, opts.dockerignore ?? ''));
  return problems;
}

function splitStages(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const i of instructions) {
    if (i.getKeyword() === 'FROM') {
      const from = i as From;
      stages.push({ from, name: from.getBuildStage(), instructions: [] });
    }
    stages.at(-1)?.instructions.push(i);
  }
  return stages;
}

function checkFrom(from: From, earlierStages: Set<string>): string[] {
  const image = from.getImage() ?? '';
  const name = from.getImageName() ?? '';
  if (earlierStages.has(image.toLowerCase())) return [];
  if (/\$/.test(image))
    return [`FROM ${image}: use a literal, pinned image (a build argument can be anything)`];
  const tag = from.getImageTag();
  const digest = from.getImageDigest();
  const out: string[] = [];
  if (!tag) out.push(`FROM ${image}: no tag, so it floats with latest; pin an exact version`);
  else if (tag === 'latest' || !EXACT_TAG.test(tag))
    out.push(`FROM ${name}:${tag}: not an exact version tag (like 20.20.2-bookworm-slim)`);
  if (digest && !/^sha256:[0-9a-f]{64}$/.test(digest)) out.push(`FROM ${image}: malformed digest ${digest}`);
  return out;
}

function checkRuntime(runtime: Stage, stages: Stage[]): string[] {
  const out: string[] = [];
  const ins = runtime.instructions;
  const kw = (k: string) => ins.filter((i) => i.getKeyword() === k);
  const base = runtime.from.getImage() ?? '';
  if (stages.some((s) => s !== runtime && s.name && s.name.toLowerCase() === base.toLowerCase()))
    out.push(`the runtime stage builds on stage ${base}, so it inherits its dev dependencies and sources`);

  const apt = kw('RUN')
    .map(args)
    .find((t) => /apt-get install/.test(t));
  if (!apt) out.push('the runtime stage does not apt-get install the netfilter tools');
  else {
    const words = apt.split(/\s+/);
    for (const p of RUNTIME_PACKAGES)
      if (!words.includes(p)) out.push(`the runtime stage does not install ${p}`);
    if (!words.includes('--no-install-recommends'))
      out.push('apt-get install without --no-install-recommends');
    if (!/rm -rf \/var\/lib\/apt\/lists/.test(apt))
      out.push('the apt lists are not removed in the same RUN as the install');
  }
  if (kw('RUN').some((i) => /\bnpm (ci|install|i)\b/.test(args(i)) && !/--omit=dev/.test(args(i))))
    out.push('the runtime stage installs dev dependencies');
  if (!kw('COPY').some((c) => fromFlag(c)))
    out.push('the runtime stage copies nothing from the build stages');

  const health = kw('HEALTHCHECK');
  if (health.length === 0) out.push('no HEALTHCHECK in the runtime stage');
  else if (!/\bCMD\b.*\/healthz/.test(args(health.at(-1) as Instruction)))
    out.push('the HEALTHCHECK does not request /healthz');

  if (!kw('EXPOSE').some((e) => args(e).split(/\s+/).includes('7474')))
    out.push('EXPOSE 7474 is missing from the runtime stage');

  const entrypoint = kw('ENTRYPOINT').at(-1) as Entrypoint | undefined;
  const cmd = kw('CMD').at(-1) as Cmd | undefined;
  for (const [k, i] of [
    ['ENTRYPOINT', entrypoint],
    ['CMD', cmd],
  ] as const) {
    if (i && !i.getOpeningBracket())
      out.push(`${k} is in shell form: use the exec form ["…"] so signals reach node`);
  }
  const argv = [...json(entrypoint), ...json(cmd)];
  const program = argv[0] ?? '';
  const runsCtscope =
    /(^|\/)ctscope$/.test(program) || (/(^|\/)node$/.test(program) && /cli\.js$/.test(argv[1] ?? ''));
  if (!runsCtscope || !argv.includes('serve'))
    out.push(`the container does not start ctscope serve (argv ${JSON.stringify(argv)})`);
  return out;
}

function checkContext(all: Instruction[], dir: string, dockerignore: string): string[] {
  const ignored = dockerignoreMatcher(dockerignore);
  const out: string[] = [];
  for (const c of all.filter((i) => i.getKeyword() === 'COPY' && !fromFlag(i))) {
    for (const src of copySources(c)) {
      const rel = src.replace(/\/$/, '');
      if (!existsSync(join(dir, rel))) out.push(`COPY ${src}: not in the build context`);
      else if (ignored(rel)) out.push(`COPY ${src}: excluded by .dockerignore`);
    }
  }
  return out;
}

/** Docker's .dockerignore rules, enough for ours: `*`, `**`, leading `/`, `!` exceptions, last match wins, a match excludes the subtree. */
export function dockerignoreMatcher(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+/, '').replace(/\/+$/, '');
      const re = pattern
        .split('/')
        .map((part) =>
          part === '**' ? '.*' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'),
        )
        .join('/')
        .replace(/\.\*\//g, '(.*/)?');
      return { negate, re: new RegExp(`^${re}$`) };
    });
  return (path) => {
    const parts = path.split('/');
    let excluded = false;
    for (let n = 1; n <= parts.length; n++) {
      const prefix = parts.slice(0, n).join('/');
      for (const r of rules) if (r.re.test(prefix)) excluded = !r.negate;
    }
    return excluded;
  };
}

function args(i: Instruction): string {
  return (i.getArgumentsContent() ?? '').replace(/\\\n/g, ' ');
}

function fromFlag(i: Instruction): string | undefined {
  return i instanceof Copy ? (i.getFromFlag()?.getValue() ?? undefined) : undefined;
}

/** COPY's sources (every argument but the flags and the destination). */
function copySources(i: Instruction): string[] {
  const a = i
    .getArguments()
    .map((x) => x.getValue())
    .filter((v) => !v.startsWith('--'));
  return a.slice(0, -1);
}

function json(i: Entrypoint | Cmd | undefined): string[] {
  return i ? i.getJSONStrings().map((s) => s.getJSONValue()) : [];
}
