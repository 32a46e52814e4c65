import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ProtocolError } from "../src/errors.js";

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const ROOT = join(here, "..", "..", "..");
/** spec/vectors */
export const VECTORS = join(ROOT, "spec", "vectors");
/** The shared external vectors: ../shared/vectors from the project root. */
export const SHARED = join(ROOT, "..", "shared", "vectors");

export interface Case {
  name: string;
  result?: "valid" | "invalid";
  error?: string;
  [key: string]: unknown;
}

export interface VectorFile {
  description: string;
  cases: Case[];
  [key: string]: unknown;
}

export function loadJson<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(path, "utf-8")) as T;
}

export function vectors(name: string): VectorFile {
  return loadJson<VectorFile>(join(VECTORS, name));
}

export function fixture<T = unknown>(name: string): T {
  return loadJson<T>(join(here, "fixtures", name));
}

export const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, "hex"));
export const toHex = (data: Uint8Array): string => Buffer.from(data).toString("hex");
export const text = (data: string): Uint8Array => new TextEncoder().encode(data);
export const fromB64 = (data: string): Uint8Array => Uint8Array.from(Buffer.from(data, "base64"));

/** Assert that `fn` throws the protocol error class named `name` (or a subclass of it). */
export function throwsClass(fn: () => unknown, name: string, label = ""): ProtocolError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ProtocolError, `${label}: expected ${name}, got ${String(caught)}`);
  let proto: object | null = Object.getPrototypeOf(caught) as object;
  const chain: string[] = [];
  while (proto && proto !== Error.prototype) {
    chain.push((proto.constructor as { name: string }).name);
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  assert.ok(chain.includes(name), `${label}: expected ${name}, got ${chain[0]} (${(caught as Error).message})`);
  return caught as ProtocolError;
}

/** Assert the exact error class (no subclass), as the vectors name it. */
export function throwsExactly(fn: () => unknown, name: string, label = ""): void {
  const error = throwsClass(fn, name, label);
  assert.equal(error.name, name, `${label}: expected exactly ${name}, got ${error.name}: ${error.message}`);
}
