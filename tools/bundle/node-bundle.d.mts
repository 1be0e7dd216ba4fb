import type { Metafile, Plugin } from 'esbuild';

export const LICENSES_FILE: string;
export const REQUIRE_BANNER: string;
export const NATIVE_LEFT_OUT: readonly string[];
export function replacePlugins(): Plugin[];
export function writeThirdPartyLicenses(
  metafile: Metafile,
  options: { cwd?: string; outDir: string; title: string },
): string[];
export function thirdPartyLicensesPlugin(options: { outDir: string; title: string }): Plugin;
