"""Recipe exploration on a GPU (PyTorch), used only to choose which recipe to train with the
TypeScript trainer on CPU. It mirrors core/models.ts's `compact` architecture and the trainer's
lesion-grouped split idea; its numbers are validation numbers for choosing, never the shipped results.
Usage: python3 research/gpu_sweep.py <data_dir> <out_json> <config_name>...
data_dir holds HAM10000_metadata.csv and img/*.jpg (any size; squeezed to size x size)."""
import csv, json, math, os, sys, time
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F
from PIL import Image
from sklearn.metrics import roc_auc_score

CLASSES = ['akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc']
dev = 'cuda'

def split(rows, seed=42, fv=0.15, ft=0.15):
    rng = np.random.RandomState(seed)
    les = {}
    for r in rows:
        les.setdefault(r['lesion_id'], []).append(r)
    by_class = {}
    for lid, rs in les.items():
        by_class.setdefault(rs[0]['dx'], []).append(lid)
    side = {}
    for c, lids in sorted(by_class.items()):
        lids = sorted(lids); rng.shuffle(lids)
        total = sum(len(les[l]) for l in lids); nt = nv = 0
        for l in lids:
            n = len(les[l])
            if nt < ft * total: side[l] = 'test'; nt += n
            elif nv < fv * total: side[l] = 'val'; nv += n
            else: side[l] = 'train'
    return side

def load(data_dir):
    rows = list(csv.DictReader(open(os.path.join(data_dir, 'HAM10000_metadata.csv'))))
    side = split(rows)
    imgs = np.stack([np.asarray(Image.open(os.path.join(data_dir, 'img', r['image_id'] + '.jpg')).convert('RGB')) for r in rows])
    y = np.array([CLASSES.index(r['dx']) for r in rows])
    s = np.array([side[r['lesion_id']] for r in rows])
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float().div(255)
    return x, torch.from_numpy(y), s

class Sep(nn.Module):
    def __init__(s, ci, co):
        super().__init__(); s.dw = nn.Conv2d(ci, ci, 3, padding=1, groups=ci, bias=False); s.pw = nn.Conv2d(ci, co, 1, bias=False)
    def forward(s, x): return s.pw(s.dw(x))

class Stage(nn.Module):
    def __init__(s, ci, co):
        super().__init__()
        s.s1, s.b1, s.s2, s.b2 = Sep(ci, co), nn.BatchNorm2d(co), Sep(co, co), nn.BatchNorm2d(co)
        s.sc, s.bs = nn.Conv2d(ci, co, 1, stride=2, bias=False), nn.BatchNorm2d(co)
    def forward(s, x):
        y = s.b2(s.s2(F.relu(s.b1(s.s1(x)))))
        y = F.max_pool2d(y, 3, 2, 1)
        return F.relu(y + s.bs(s.sc(x)))

class Compact(nn.Module):
    def __init__(s, width=1.0, stages=(64, 128, 256), stem=32, drop=0.3):
        super().__init__()
        w = lambda c: int(round(c * width))
        s.stem = nn.Sequential(nn.Conv2d(3, w(stem), 3, 2, 1, bias=False), nn.BatchNorm2d(w(stem)), nn.ReLU(),
                               nn.Conv2d(w(stem), w(stem), 3, 1, 1, bias=False), nn.BatchNorm2d(w(stem)), nn.ReLU())
        chans = [w(stem)] + [w(c) for c in stages]
        s.stages = nn.Sequential(*[Stage(chans[i], chans[i + 1]) for i in range(len(stages))])
        s.drop = nn.Dropout(drop); s.fc = nn.Linear(chans[-1], 7)
    def forward(s, x):
        x = s.stages(s.stem(x)); return s.fc(s.drop(x.mean((2, 3))))

def augment(x, strong, g):
    n = x.shape[0]
    rot = (torch.rand(n, device=dev, generator=g) * 2 - 1) * (math.pi if strong else math.radians(10))
    zoom = 1 + (torch.rand(n, device=dev, generator=g) * 2 - 1) * (0.2 if strong else 0.1)
    sh = (torch.rand(n, 2, device=dev, generator=g) * 2 - 1) * 0.1 * 2
    cos, sin = torch.cos(rot) / zoom, torch.sin(rot) / zoom
    theta = torch.stack([torch.stack([cos, -sin, sh[:, 0]], 1), torch.stack([sin, cos, sh[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    x = F.grid_sample(x, grid, padding_mode='reflection' if strong else 'border', align_corners=False)
    fh = torch.rand(n, device=dev, generator=g) < 0.5; fv = torch.rand(n, device=dev, generator=g) < 0.5
    x = torch.where(fh[:, None, None, None], x.flip(3), x); x = torch.where(fv[:, None, None, None], x.flip(2), x)
    if strong:
        b = 1 + (torch.rand(n, 1, 1, 1, device=dev, generator=g) * 2 - 1) * 0.2
        c = 1 + (torch.rand(n, 1, 1, 1, device=dev, generator=g) * 2 - 1) * 0.2
        sat = 1 + (torch.rand(n, 1, 1, 1, device=dev, generator=g) * 2 - 1) * 0.2
        m = x.mean((1, 2, 3), keepdim=True); x = (x - m) * c + m; x = x * b
        gray = x.mean(1, keepdim=True); x = (x - gray) * sat + gray
    return x.clamp(0, 1)

def metrics(y, p):
    pred = p.argmax(1)
    rec = [((pred == c) & (y == c)).sum() / max((y == c).sum(), 1) for c in range(7)]
    auc = [roc_auc_score(y == c, p[:, c]) for c in range(7)]
    conf = p.max(1); bins = np.minimum((conf * 15).astype(int), 14); ece = 0
    for b in range(15):
        m = bins == b
        if m.any(): ece += abs((pred[m] == y[m]).sum() - conf[m].sum())
    return dict(bal=float(np.mean(rec)), auc=float(np.mean(auc)), rec=[float(r) for r in rec], ece=float(ece / len(y)), acc=float((pred == y).mean()))

CONFIGS = {
  'c96w':  dict(size=96, width=1.0, balance='weights', strong=True, ls=0.1, epochs=40),
  'c96s':  dict(size=96, width=1.0, balance='sampling', strong=True, ls=0.1, epochs=40),
  'c96n':  dict(size=96, width=1.0, balance='none', strong=True, ls=0.1, epochs=40),
  'c64w':  dict(size=64, width=1.0, balance='weights', strong=True, ls=0.1, epochs=40),
  'c128w': dict(size=128, width=1.0, balance='weights', strong=True, ls=0.1, epochs=40),
  'c96w15': dict(size=96, width=1.5, balance='weights', strong=True, ls=0.1, epochs=40),
  'c96wo': dict(size=96, width=1.0, balance='weights', strong=False, ls=0.1, epochs=40),
  'c96w80': dict(size=96, width=1.0, balance='weights', strong=True, ls=0.1, epochs=80),
  'c96w0': dict(size=96, width=1.0, balance='weights', strong=True, ls=0.0, epochs=40),
  'c96w20': dict(size=96, width=1.0, balance='weights', strong=True, ls=0.1, epochs=20),
  'c128w15': dict(size=128, width=1.5, balance='weights', strong=True, ls=0.1, epochs=40),
}

def run(name, cfg, X, Y, S):
    torch.manual_seed(0); g = torch.Generator(device=dev); g.manual_seed(0)
    size = cfg['size']
    Xs = F.interpolate(X, size=(size, size), mode='area').to(dev)
    tr, va, te = [torch.from_numpy(np.where(S == k)[0]) for k in ('train', 'val', 'test')]
    Yd = Y.to(dev); trd = tr.to(dev); ytr = Yd[trd]; counts = torch.bincount(ytr, minlength=7).float()
    cw = (counts.sum() / (7 * counts)) if cfg['balance'] == 'weights' else torch.ones(7, device=dev)
    model = Compact(cfg['width']).to(dev).to(memory_format=torch.channels_last)
    bs, epochs = 32, cfg['epochs']; steps = math.ceil(len(tr) / bs)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=epochs * steps, pct_start=0.05)
    hist = []; best = None
    def predict(idx, tta=True):
        model.eval(); out = []
        with torch.no_grad():
            for i in range(0, len(idx), 512):
                xb = Xs[idx[i:i + 512].to(dev)]
                p = F.softmax(model(xb), 1)
                if tta: p = (p + F.softmax(model(xb.flip(3)), 1)) / 2
                out.append(p)
        return torch.cat(out)
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        if cfg['balance'] == 'sampling':
            w = (1 / counts)[ytr]; order = torch.multinomial(w, len(tr), replacement=True, generator=g)
        else:
            order = torch.randperm(len(tr), device=dev, generator=g)
        for i in range(steps):
            bi = trd[order[i * bs:(i + 1) * bs]]
            xb = augment(Xs[bi], cfg['strong'], g); yb = Yd[bi]
            loss = F.cross_entropy(model(xb), yb, weight=cw, label_smoothing=cfg["ls"])
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); sched.step()
        pv = predict(va); mv = metrics(Y[va].numpy(), pv.cpu().numpy())
        hist.append(dict(ep=ep, loss=float(loss), **{k: mv[k] for k in ('bal', 'auc')}))
        if best is None or mv['bal'] > best['val']['bal']:
            logits_v = torch.log(pv.clamp_min(1e-12))
            # temperature on val
            Ts = torch.exp(torch.linspace(-1.5, 1.5, 121, device=dev)); yv = Y[va].to(dev)
            nll = torch.stack([F.cross_entropy(logits_v / T, yv) for T in Ts]); T = float(Ts[nll.argmin()])
            pt = predict(te); pt_cal = F.softmax(torch.log(pt.clamp_min(1e-12)) / T, 1)
            best = dict(ep=ep, val=mv, T=T, test=metrics(Y[te].numpy(), pt_cal.cpu().numpy()), test_raw_ece=metrics(Y[te].numpy(), pt.cpu().numpy())['ece'])
    best['secs'] = time.time() - t0; best['hist'] = hist; best['cfg'] = cfg
    best['params'] = sum(p.numel() for p in model.parameters())
    print(name, json.dumps({k: best[k] for k in ('ep', 'T', 'secs', 'params')}), 'VAL', json.dumps(best['val']), 'TEST', json.dumps(best['test']), flush=True)
    return best

if __name__ == '__main__':
    data, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    X, Y, S = load(data)
    print('split', {k: int((S == k).sum()) for k in ('train', 'val', 'test')}, flush=True)
    res = {}
    for n in names:
        res[n] = run(n, CONFIGS[n], X, Y, S)
        json.dump(res, open(out, 'w'))
