/**
 * Bounds on what hostile input may make stagecraft hold in memory, in one place. Pure constants.
 */

/**
 * BuildKit's bound on the Dockerfile and ignore files a frontend loads (containerd's default gRPC
 * message size, 16 MiB): `Dockerfile exceeds maximum allowed size of 16777216 bytes`.
 */
export const MAX_DOCKERFILE_SIZE = 16 * 1024 * 1024;

/** The message for a file over `max` bytes, in BuildKit's words. */
export function tooLargeMessage(name: string, max = MAX_DOCKERFILE_SIZE): string {
  return `${name} exceeds maximum allowed size of ${max} bytes`;
}

/**
 * The most ENV and LABEL text (keys and values, UTF-16 units) one image config may hold: each
 * value is bounded by the expansion's word limit, but forty of them would make a config whose JSON
 * is longer than a JavaScript string can be.
 */
export const MAX_CONFIG_TEXT = 4 * MAX_DOCKERFILE_SIZE;
