import {mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

/** A ConfigMap volume as the kubelet lays it out: timestamped folder, `..data` symlink, file symlink. */
export class FakeConfigMapVolume {
  readonly dir = mkdtempSync(join(tmpdir(), 'nsm-cm-'));
  private generation = 0;
  constructor(text: string) {
    symlinkSync(this.writeGeneration(text), join(this.dir, '..data'));
    symlinkSync('..data/config.yaml', join(this.dir, 'config.yaml'));
  }
  private writeGeneration(text: string): string {
    const name = `..2026_11_28_18_00_0${this.generation++}.${process.pid}`;
    mkdirSync(join(this.dir, name));
    writeFileSync(join(this.dir, name, 'config.yaml'), text);
    return name;
  }
  /** The kubelet's atomic update: new folder, `..data_tmp` symlink, renamed over `..data`. */
  swap(text: string): void {
    const name = this.writeGeneration(text);
    symlinkSync(name, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
  }
  remove(): void {
    rmSync(this.dir, {recursive: true, force: true});
  }
}
