/** Types of the snapshotter: lowers + upper in, a mounted writable root out. */
/** overlayfs: the kernel's; fuse-overlayfs: the FUSE daemon (rootless fallback); native: copying. */
export type SnapshotterKind = 'overlayfs' | 'fuse-overlayfs' | 'native';

export interface Mounted {
  kind: SnapshotterKind;
  /** The merged, writable root (give it to the executor as `rootfs`). */
  root: string;
  /**
   * The diff dir: overlay-style (char 0/0 whiteouts, or `.wh.NAME` files where mknod is refused: upper.ts; opaque xattr). For overlayfs it is live while
   * mounted; for the native snapshotter it is written by `unmount()`. Never removed by unmount.
   */
  upper: string;
  /** Scratch dir the snapshotter uses (overlay workdir); removed by unmount. */
  work: string;
  /** Unmounts and removes the scratch dirs (not the upper). Idempotent. */
  unmount(): Promise<void>;
}

export interface MountOptions {
  /** Where to make scratch dirs (overlay work dir must be on the upper's filesystem). Default: next to `upper`, else $TMPDIR. */
  scratchDir?: string;
}
