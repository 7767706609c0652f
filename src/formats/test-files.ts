// Paths and loaders for the shared fixtures, used by tests across modules.
import { openAsBlob, readdirSync, readFileSync } from 'node:fs';

export const FIXTURES = '../shared/fixtures';

export function fixturePath(relative: string): string {
  return `${FIXTURES}/${relative}`;
}

export function fixtureBlob(relative: string): Promise<Blob> {
  return openAsBlob(fixturePath(relative));
}

export function fixtureBytes(relative: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(readFileSync(fixturePath(relative)));
}

/** Every GGUF file anywhere under the fixtures. */
export function allFixtureGgufs(): string[] {
  return (readdirSync(FIXTURES, { recursive: true }) as string[]).filter((p) => p.endsWith('.gguf')).sort();
}

export interface TensorListing {
  name: string;
  type: string;
  shape: number[];
}

/** The `.tensors.json` listing that sits beside a quantized fixture. */
export function tensorListing(ggufRelative: string): TensorListing[] {
  return JSON.parse(readFileSync(fixturePath(ggufRelative.replace(/\.gguf$/, '.tensors.json')), 'utf8')) as TensorListing[];
}
