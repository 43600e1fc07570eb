/**
 * Docker's size of an image, from the model: what `images` SIZE and `inspect` .Size show (moby's
 * directory size of each unpacked layer, as TarContentSize measures a layer stream): regular files'
 * bytes, each inode once (a hard link adds nothing), plus each symlink's target length. Pure.
 */
import type { ImageModel, LayerModel } from './model.js';

export function dockerLayerSize(l: LayerModel): number {
  let n = 0;
  for (const e of l.entries) {
    if (e.type === 'file') n += e.size;
    else if (e.type === 'symlink') n += Buffer.byteLength(e.linkname ?? '');
  }
  return n;
}

export function dockerImageSize(img: ImageModel): number {
  return img.layers.reduce((s, l) => s + dockerLayerSize(l), 0);
}
