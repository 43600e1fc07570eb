/**
 * convert: a single-stage Dockerfile → a multi-stage one whose final stage ships only the runtime
 * (convert.ts, with what it knows about package managers in packages.ts and about base images in
 * images.ts), and `--verify`'s check that both build and run the same (verify.ts, effects injected).
 * Pure: the CLI reads the files and supplies the build engine and the executor.
 */
export { convertDockerfile, convertParsed, type ConvertInput, type ConvertResult, type Ecosystem } from './convert.js';
export { verifyConversion, type Verification, type VerifyEffects, type RunOutput } from './verify.js';
export { imageRuntime, slimVariant, type Runtime } from './images.js';
export { classifyCommand, isBuildPackage, runtimePackages, type PackageManager } from './packages.js';
