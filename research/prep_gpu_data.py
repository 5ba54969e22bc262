"""Packs what research/gpu_sweep_mnv2.py needs on the GPU machine into one ignored folder (.gpu/):

  .gpu/ham128.npz   train + val images of runs/<run>/split.json (NEVER the test side), squashed from 4:3 to
                    size x size with area (box) averaging like core/preprocess.ts, stored as JPEG bytes (q 92)
                    concatenated in 'jpeg' with 'offsets' (n+1), plus labels (CLASSES order), side ('train'/'val') and image ids.
  .gpu/mnv2.npz     the imported MobileNetV2 backbone's 52 convolutions (TF layouts: conv HWIO, depthwise
                    HWC1) as float32 (as tfjs uses them: float16 would blur the port check), keys 'w{i:02d}', 'b{i:02d}', in graph order, plus the input rescaling.

HAM10000 is CC BY-NC: .gpu/ must stay untracked (add /.gpu/ to .git/info/exclude).
Usage: python3 research/prep_gpu_data.py [--size 128] [--split runs/mnv2-128/split.json]
         [--data /work/shared/ham10000] [--backbone /work/backbones/mnv2-quant] [--out .gpu]"""
import argparse, csv, io, json, os
import numpy as np
from PIL import Image

CLASSES = ['akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc']


def squash(path, size):
    im = Image.open(path).convert('RGB')
    w, h = im.size
    # core/preprocess.ts centre-crops to at most 4:3 first; HAM images are exactly 4:3 so this is a no-op.
    if w / h > 4 / 3:
        cw = round(h * 4 / 3); im = im.crop(((w - cw) // 2, 0, (w - cw) // 2 + cw, h))
    elif h / w > 4 / 3:
        ch = round(w * 4 / 3); im = im.crop((0, (h - ch) // 2, w, (h - ch) // 2 + ch))
    return im.resize((size, size), Image.BOX)


def backbone_weights(bdir):
    m = json.load(open(os.path.join(bdir, 'model.json')))
    layers = m['modelTopology']['model_config']['config']['layers'] if 'model_config' in m['modelTopology'] else m['modelTopology']['config']['layers']
    resc = next(l['config'] for l in layers if l['class_name'] == 'Rescaling')
    buf = b''.join(open(os.path.join(bdir, p), 'rb').read() for g in m['weightsManifest'] for p in g['paths'])
    specs = [w for g in m['weightsManifest'] for w in g['weights']]
    arrays, off = {}, 0
    for s in specs:
        assert s['dtype'] == 'float32', s
        n = int(np.prod(s['shape']))
        arrays[s['name']] = np.frombuffer(buf, np.float32, n, off).reshape(s['shape']); off += 4 * n
    convs = [l for l in layers if l['class_name'] in ('Conv2D', 'DepthwiseConv2D')][:52]  # the 53rd is the ImageNet head
    out = {'scale': np.float32(resc['scale']), 'offset': np.float32(resc['offset'])}
    for i, l in enumerate(convs):
        name = l['config']['name']
        k = arrays[name + ('/depthwise_kernel' if l['class_name'] == 'DepthwiseConv2D' else '/kernel')]
        out[f'w{i:02d}'] = k.astype(np.float32); out[f'b{i:02d}'] = arrays[name + '/bias'].astype(np.float32)
        out[f'n{i:02d}'] = np.array(name)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--size', type=int, default=128)
    ap.add_argument('--split', default='runs/mnv2-128/split.json')
    ap.add_argument('--data', default='/work/shared/ham10000')
    ap.add_argument('--backbone', default='/work/backbones/mnv2-quant')
    ap.add_argument('--out', default='.gpu')
    ap.add_argument('--quality', type=int, default=92)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    split = json.load(open(a.split))
    dx = {r['image_id']: r['dx'] for r in csv.DictReader(open(os.path.join(a.data, 'HAM10000_metadata.csv')))}
    ids, sides, labels, blobs = [], [], [], []
    for side in ('train', 'val'):  # never 'test'
        for iid in split[side]:
            bio = io.BytesIO()
            squash(os.path.join(a.data, 'images', iid + '.jpg'), a.size).save(bio, 'JPEG', quality=a.quality)
            ids.append(iid); sides.append(side); labels.append(CLASSES.index(dx[iid])); blobs.append(np.frombuffer(bio.getvalue(), np.uint8))
    offsets = np.cumsum([0] + [b.size for b in blobs]).astype(np.int64)
    np.savez(os.path.join(a.out, f'ham{a.size}.npz'), jpeg=np.concatenate(blobs), offsets=offsets, labels=np.array(labels, np.int64),
             side=np.array(sides), ids=np.array(ids), size=np.int64(a.size))
    np.savez(os.path.join(a.out, 'mnv2.npz'), **backbone_weights(a.backbone))
    print({s: sides.count(s) for s in ('train', 'val')}, 'jpeg MiB', round(sum(b.size for b in blobs) / 2 ** 20, 1))


if __name__ == '__main__':
    main()
