import type { ProjectConfig } from './schema.js';

/** How the agent loads an OS. */
export type OsMethod = 'kexec' | 'bin' | 'qemu';

/** One validated OS folder under oss/. Paths are relative to `dir` and proven to stay inside it. */
export interface OsEntry {
  /** Folder name (the menu key, `bt.os=` value, torrent name). */
  name: string;
  /** Absolute path of the folder. */
  dir: string;
  dispname: string;
  method: OsMethod;
  kernel?: string;
  initrds: string[];
  cmdline: string;
  bin?: string;
  binargs: string[];
  qemuArgs: string[];
}

/** A loaded, validated project directory. */
export interface Project {
  /** Absolute project directory. */
  dir: string;
  /** The file the settings came from: config.yaml, or Boottorrent.yaml for the original format. */
  configFile: string;
  /** True when read from the original project's Boottorrent.yaml. */
  legacy: boolean;
  config: ProjectConfig;
  /** Sorted by folder name. */
  oss: OsEntry[];
}
