/** Loads ../shared/phoenix-golden-frames.json, the byte-exact wire reference beside the repository. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface GoldenFrame {
  name: string;
  direction: 'client->server' | 'server->client';
  vsn: '1.0.0' | '2.0.0';
  /** JSON text, or lowercase hex when `binary` is true. */
  frame: string;
  binary?: boolean;
  meaning: string;
  source: string;
}

export const GOLDEN_PATH = fileURLToPath(new URL('../../../shared/phoenix-golden-frames.json', import.meta.url));

export function loadGolden(): GoldenFrame[] {
  return JSON.parse(readFileSync(GOLDEN_PATH, 'utf8')) as GoldenFrame[];
}

export function golden(name: string): GoldenFrame {
  const found = loadGolden().find((g) => g.name === name);
  if (!found) throw new Error(`no golden frame named ${name}`);
  return found;
}

/** The frame's wire bytes: a string for text frames, a Uint8Array for binary ones. */
export function wire(g: GoldenFrame): string | Uint8Array {
  return g.binary ? new Uint8Array(Buffer.from(g.frame, 'hex')) : g.frame;
}
