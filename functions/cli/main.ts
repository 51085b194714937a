#!/usr/bin/env node
/**
 * nsm-inject: the webhook's injection, offline. Reads manifests, writes them injected to stdout,
 * like `istioctl kube-inject` and `linkerd inject`, for GitOps users who commit what runs.
 * Same core, same config as the webhook; nothing here decides anything.
 */
import {readdirSync, readFileSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {parseArgs} from 'node:util';
import type {VersionedConfig} from '../core/config';
import {parseConfig} from '../config/parse';
import {bundledConfigPath, resolveConfigPath} from '../config/source';
import {injectManifests, ManifestError} from './documents';

const USAGE = `Usage: nsm-inject -f FILE|FOLDER|- [--config FILE|FOLDER]

Injects NSM client sidecars into the Pods and pod templates (Deployment, StatefulSet, DaemonSet,
ReplicaSet, Job, CronJob) of the given manifests that carry the networkservicemesh.io annotation,
and prints all the manifests to stdout. Documents with nothing to inject are printed unchanged, so
running it on its own output changes nothing.

  -f, --filename   a YAML/JSON file, a folder (its .yaml, .yml and .json files, in name order), or -
                   for stdin. Multi-document YAML and kind: List are understood. Repeatable.
  -c, --config     the injector config (a file, or a folder holding config.yaml); default: the
                   bundled config, which reproduces NSM v1.18.0's webhook.
  -h, --help       this text.

Warnings go to stderr. Exit status: 0 done, 1 unreadable input or config, 2 bad usage.
`;

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

function readInputs(name: string): Array<{source: string; text: string}> {
  if (name === '-') return [{source: 'stdin', text: readFileSync(0, 'utf8')}];
  if (statSync(name).isDirectory()) {
    return readdirSync(name)
      .filter(f => MANIFEST_EXTENSIONS.some(ext => f.endsWith(ext)))
      .sort()
      .map(f => ({source: join(name, f), text: readFileSync(join(name, f), 'utf8')}));
  }
  return [{source: name, text: readFileSync(name, 'utf8')}];
}

function loadConfig(setting: string | undefined): VersionedConfig {
  const path = setting === undefined ? bundledConfigPath() : resolveConfigPath(setting);
  const parsed = parseConfig(readFileSync(path, 'utf8'));
  if (!parsed.ok) throw new ManifestError(`config ${path} is invalid:\n  ${parsed.errors.join('\n  ')}`);
  return parsed.value;
}

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** Runs the CLI; returns the exit status (never calls process.exit, so tests can call it). */
export function run(argv: readonly string[], io: CliIo): number {
  let values: {filename?: string[] | undefined; config?: string | undefined; help?: boolean | undefined};
  try {
    ({values} = parseArgs({
      args: [...argv],
      options: {
        filename: {type: 'string', short: 'f', multiple: true},
        config: {type: 'string', short: 'c'},
        help: {type: 'boolean', short: 'h'},
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
    const outputs: string[] = [];
    for (const input of values.filename.flatMap(readInputs)) {
      const result = injectManifests(input.text, versioned, input.source);
      for (const report of result.reports) {
        for (const warning of report.warnings) io.stderr(`nsm-inject: ${input.source}: ${report.where}: ${warning}\n`);
      }
      if (result.text !== '') outputs.push(result.text);
    }
    // Files are joined as one stream; a file that starts with its own `---` needs no separator.
    io.stdout(outputs.map((t, i) => (i === 0 || t.startsWith('---') ? t : `---\n${t}`)).join(''));
    return 0;
  } catch (error) {
    io.stderr(`nsm-inject: ${error instanceof ManifestError ? error.message : String(error)}\n`);
    return 1;
  }
}

if (require.main === module) {
  process.exitCode = run(process.argv.slice(2), {stdout: t => process.stdout.write(t), stderr: t => process.stderr.write(t)});
}
