#!/usr/bin/env node
/**
 * nsm-inject: the webhook's injection, offline. Reads manifests, writes them injected to stdout,
 * like `istioctl kube-inject` and `linkerd inject`, for GitOps users who commit what runs.
 * Same core, same config as the webhook; nothing here decides anything.
 */
import {parseArgs} from 'node:util';
import type {VersionedConfig} from '../core/config';
import {parseConfig} from '../config/parse';
import {bundledConfigPath, resolveConfigPath} from '../config/source';
import {collectNamespaces, injectManifests, type NamespaceContext} from './documents';
import {readInputs, readText} from './inputs';
import {ManifestError} from './problems';

const USAGE = `Usage: nsm-inject -f FILE|FOLDER|- [-R] [--config FILE|FOLDER] [--namespace-annotation K=V] [--namespace-label K=V]

Injects NSM client sidecars into the Pods and pod templates (Deployment, StatefulSet, DaemonSet,
ReplicaSet, Job, CronJob) of the given manifests that carry the networkservicemesh.io annotation,
and prints all the manifests to stdout. Documents with nothing to inject are printed unchanged, so
running it on its own output changes nothing. Workloads get the sidecars in their pod template
whatever the config's \`workloads\` says (the webhook's default injects pods as they are created):
what you commit is what runs.

  -f, --filename   a YAML/JSON file, a folder (its .yaml, .yml and .json files, in name order), or -
                   for stdin. Multi-document YAML and kind: List are understood. Repeatable.
  -R, --recursive  read the folders given with -f and all the folders below them.
  -c, --config     the injector config (a file, or a folder holding config.yaml); default: the
                   bundled config, which reproduces NSM v1.18.0's webhook.
  --namespace-annotation K=V, --namespace-label K=V
                   the annotations and labels of the namespace the objects will be created in,
                   for objects whose Namespace is not among the input's manifests. Repeatable.
  -h, --help       this text.

Namespaces: nsm-inject can't query a cluster. A Pod without its own networkservicemesh.io annotation
inherits its Namespace's, and the Namespace's pod-security.kubernetes.io/enforce label picks the
volumes (hostPath at privileged; CSI at baseline and restricted, plus a restricted security context).
It reads them from Namespace manifests in the input (matched by metadata.namespace), else from the
flags above; with neither it assumes no namespace annotation and the privileged level.

Warnings go to stderr. Exit status: 0 done, 1 unreadable input or config, 2 bad usage.
`;

function loadConfig(setting: string | undefined): VersionedConfig {
  const path = setting === undefined ? bundledConfigPath() : resolveConfigPath(setting);
  const parsed = parseConfig(readText(path, `config ${path}`));
  if (!parsed.ok) throw new ManifestError(`config ${path} is invalid:\n  ${parsed.errors.join('\n  ')}`);
  return parsed.value;
}

function keyValues(pairs: readonly string[], flag: string): Record<string, string> {
  // fromEntries defines plain properties: a key such as __proto__ stays a key.
  return Object.fromEntries(
    pairs.map(pair => {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UsageError(`${flag} takes KEY=VALUE, got ${JSON.stringify(pair)}`);
      return [pair.slice(0, eq), pair.slice(eq + 1)];
    }),
  );
}

class UsageError extends Error {}

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** Runs the CLI; returns the exit status (never calls process.exit, so tests can call it). */
export function run(argv: readonly string[], io: CliIo): number {
  let values: {
    filename?: string[] | undefined;
    config?: string | undefined;
    help?: boolean | undefined;
    recursive?: boolean | undefined;
    'namespace-annotation'?: string[] | undefined;
    'namespace-label'?: string[] | undefined;
  };
  try {
    ({values} = parseArgs({
      args: [...argv],
      options: {
        filename: {type: 'string', short: 'f', multiple: true},
        config: {type: 'string', short: 'c'},
        help: {type: 'boolean', short: 'h'},
        recursive: {type: 'boolean', short: 'R'},
        'namespace-annotation': {type: 'string', multiple: true},
        'namespace-label': {type: 'string', multiple: true},
      },
      strict: true,
    }));
  } catch (error) {
    io.stderr(`nsm-inject: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    io.stdout(USAGE);
    return 0;
  }
  if (values.filename === undefined || values.filename.length === 0) {
    io.stderr(`nsm-inject: -f is required\n\n${USAGE}`);
    return 2;
  }
  try {
    const versioned = loadConfig(values.config);
    const recursive = values.recursive === true;
    const inputs = values.filename.flatMap(name => readInputs(name, recursive));
    const annotations = keyValues(values['namespace-annotation'] ?? [], '--namespace-annotation');
    const labels = keyValues(values['namespace-label'] ?? [], '--namespace-label');
    const namespaces: NamespaceContext = {
      byName: collectNamespaces(inputs.map(i => i.text)),
      fallback: Object.keys(annotations).length + Object.keys(labels).length > 0 ? {annotations, labels} : undefined,
    };
    const outputs: string[] = [];
    for (const input of inputs) {
      const result = injectManifests(input.text, versioned, input.source, namespaces);
      for (const report of result.reports) {
        for (const warning of report.warnings) io.stderr(`nsm-inject: ${input.source}: ${report.where}: ${warning}\n`);
      }
      if (result.text !== '') outputs.push(result.text);
    }
    // Files are joined as one stream; a file that starts with its own `---` needs no separator.
    io.stdout(outputs.map((t, i) => (i === 0 || t.startsWith('---') ? t : `---\n${t}`)).join(''));
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`nsm-inject: ${error.message}\n`);
      return 2;
    }
    io.stderr(`nsm-inject: ${error instanceof ManifestError ? error.message : String(error)}\n`);
    return 1;
  }
}

if (require.main === module) {
  process.exitCode = run(process.argv.slice(2), {stdout: t => process.stdout.write(t), stderr: t => process.stderr.write(t)});
}
