import {existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

/**
 * A ConfigMap or Secret volume as the kubelet lays it out: each generation in a timestamped folder,
 * `..data` a symlink to the current one, and each file a symlink through `..data`. An update
 * writes a new generation and renames a fresh symlink over `..data`: atomic for readers.
 */
export class KubeletVolume {
  readonly dir = mkdtempSync(join(tmpdir(), 'nsm-vol-'));
  private generation = 0;
  constructor(files: Record<string, string>) {
    symlinkSync(this.writeGeneration(files), join(this.dir, '..data'));
    for (const name of Object.keys(files)) symlinkSync(`..data/${name}`, join(this.dir, name));
  }
  private writeGeneration(files: Record<string, string>): string {
    const name = `..2026_11_28_18_00_00.${process.pid}_${this.generation++}`;
    mkdirSync(join(this.dir, name));
    for (const [file, text] of Object.entries(files)) writeFileSync(join(this.dir, name, file), text);
    return name;
  }
  /** The kubelet's atomic update: new folder, `..data_tmp` symlink, renamed over `..data`. */
  update(files: Record<string, string>): void {
    const name = this.writeGeneration(files);
    symlinkSync(name, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    // A key new in this update gets its link too (the kubelet's final step).
    for (const file of Object.keys(files)) if (!existsSync(join(this.dir, file))) symlinkSync(`..data/${file}`, join(this.dir, file));
  }
  remove(): void {
    rmSync(this.dir, {recursive: true, force: true});
  }
}

/** The injector's ConfigMap volume: one file, config.yaml. */
export class FakeConfigMapVolume extends KubeletVolume {
  constructor(text: string) {
    super({'config.yaml': text});
  }
  swap(text: string): void {
    this.update({'config.yaml': text});
  }
}
