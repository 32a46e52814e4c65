/**
 * `@consent-registry/protocol`: the consent-registry protocol (spec/) in TypeScript, for
 * browsers and Node.js. See README.md for how each module maps to the spec's sections.
 */
export * from "./errors.js";
export * from "./encoding.js";
export * from "./hash.js";
export * from "./keys.js";
export * from "./urls.js";
export * from "./batchcheck.js";
export * from "./prefs.js";
export * from "./records.js";
export * from "./merkle.js";
export * from "./tiles.js";
export * from "./note.js";
export * from "./checkpoint.js";
export * from "./proof.js";
export * from "./pdq.js";
export * from "./pdqvariants.js";
export * from "./snapshot.js";
export * from "./levels.js";
export * from "./state.js";
export * from "./trust.js";
export * from "./keyfile.js";
