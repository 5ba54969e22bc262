"""Fine-tuning recipe sweep for the ImageNet MobileNetV2 backbone at 128 px on HAM10000, on a GPU (PyTorch).
Used only to choose which flags to give the TypeScript trainer (trainer/) for a CPU run; its numbers are
VALIDATION numbers on runs/mnv2-128/split.json's val side, for choosing. The test side is never loaded.

It mirrors the trainer: core/mobilenet-v2.ts' topology (input rescaling inside the model, BatchNorm folded:
convs with biases, ReLU6, TF 'same' padding incl. the asymmetric (0, 1) padding of stride-2 convs at even
sizes, global average pool -> dropout -> Dense(7)); the imported backbone's 52 convolutions; 220 batches of
32 per epoch (ceil(7011 / 32), the last one short) drawn by --balance sampling (uniform class, then uniform
image) or 'sqrt' (class probability proportional to sqrt(count); the trainer lacks it) or a shuffle
(none / weights, the latter with Keras-style class weights n / (K * n_c) on the loss, mean over the batch);
label smoothing; Adam with decoupled weight decay on kernels only (p *= 1 - lr_group * wd; eps 1e-7 as tfjs);
the backbone at lr * backbone_lr_scale; linear warm-up then cosine to 0 over all steps; the first
head_epochs train the head alone; stem and blocks < freeze_until frozen; EMA with decay min(d, (1+t)/(10+t))
validated instead of the raw weights; the trainer's 'strong' / 'original' augmentation (after
research/gpu_sweep.py's augment, with per-axis zoom and 0.15 colour jitter like trainer/train/augment.ts).

Data come from research/prep_gpu_data.py (.gpu/ham128.npz: train + val JPEGs at 128 px; .gpu/mnv2.npz: the
backbone's weights; .gpu/portcheck.npz: tfjs-node features from research/check_torch_port.ts).

Usage: python3 research/gpu_sweep_mnv2.py --out DIR [--workers 8] [--budget 420] [--only name,...] [--data-size 128]
       [--smoke]  (tiny CPU run: few steps, 2 epochs)"""
import argparse, copy, io, json, math, os, sys, time
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F

CLASSES = ['akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc']
STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
GPU = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '.gpu')


# ---------------------------------------------------------------- model
class Conv(nn.Module):
    """TF 'same' conv with bias (BatchNorm folded), optional ReLU6. block: -1 stem, 0..16 blocks, 17 last conv."""
    def __init__(s, ci, co, k, stride, relu6, block, groups=1):
        super().__init__()
        s.conv = nn.Conv2d(ci, co, k, stride, 0, groups=groups, bias=True)
        s.k, s.stride, s.relu6, s.block = k, stride, relu6, block

    def forward(s, x):
        if s.k > 1:
            # TF 'same': total padding max(k - s, 0) for sizes divisible by the stride, the extra one at the end.
            total = max(s.k - s.stride, 0) if x.shape[-1] % s.stride == 0 else max(s.k - x.shape[-1] % s.stride, 0)
            lo = total // 2; x = F.pad(x, (lo, total - lo, lo, total - lo))
        x = s.conv(x)
        return x.clamp(0, 6) if s.relu6 else x


class Block(nn.Module):
    def __init__(s, ci, t, co, stride, k):
        super().__init__()
        layers = ([Conv(ci, ci * t, 1, 1, True, k)] if t != 1 else []) + [
            Conv(ci * t, ci * t, 3, stride, True, k, groups=ci * t), Conv(ci * t, co, 1, 1, False, k)]
        s.layers = nn.Sequential(*layers); s.res = stride == 1 and ci == co

    def forward(s, x):
        y = s.layers(x)
        return x + y if s.res else y


class MNV2(nn.Module):
    def __init__(s, scale=2.0, offset=-1.0, dropout=0.2):
        super().__init__()
        s.scale, s.offset = float(scale), float(offset)
        feats = [Conv(3, 32, 3, 2, True, -1)]; ci = 32; k = 0
        for t, c, n, st in STAGES:
            for i in range(n):
                feats.append(Block(ci, t, c, st if i == 0 else 1, k)); ci = c; k += 1
        feats.append(Conv(ci, 1280, 1, 1, True, 17))
        s.features = nn.Sequential(*feats)
        s.drop = nn.Dropout(dropout); s.fc = nn.Linear(1280, 7)
        nn.init.xavier_uniform_(s.fc.weight); nn.init.zeros_(s.fc.bias)  # tfjs glorotUniform, zero bias

    def pooled(s, x):  # x: [0, 1] pixels, NCHW
        return s.features(x * s.scale + s.offset).mean((2, 3))

    def forward(s, x):
        return s.fc(s.drop(s.pooled(x)))

    def convs(s):
        return [m for m in s.modules() if isinstance(m, Conv)]

    def load_backbone(s, path):
        w = np.load(path)
        s.scale, s.offset = float(w['scale']), float(w['offset'])
        convs = s.convs(); assert len(convs) == 52
        for i, c in enumerate(convs):
            k = w[f'w{i:02d}'].astype(np.float32)
            k = k.transpose(2, 3, 0, 1) if c.conv.groups > 1 else k.transpose(3, 2, 0, 1)  # HWC1 -> C1HW, HWIO -> OIHW
            assert tuple(k.shape) == tuple(c.conv.weight.shape), (i, k.shape, c.conv.weight.shape)
            c.conv.weight.data.copy_(torch.from_numpy(np.ascontiguousarray(k)))
            c.conv.bias.data.copy_(torch.from_numpy(w[f'b{i:02d}'].astype(np.float32)))


def port_check(dev):
    """The torch port's pooled features against tfjs-node's (research/check_torch_port.ts), float32."""
    p = np.load(os.path.join(GPU, 'portcheck.npz'))
    m = MNV2(); m.load_backbone(os.path.join(GPU, 'mnv2.npz')); m = m.to(dev).eval()
    old = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    with torch.no_grad():
        f = m.pooled(torch.from_numpy(p['x']).permute(0, 3, 1, 2).contiguous().to(dev)).cpu().numpy()
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = old
    ref = p['feat']
    rel = float(np.abs(f - ref).max() / np.abs(ref).max())
    rel_norm = float(np.linalg.norm(f - ref) / np.linalg.norm(ref))
    return dict(max_abs_over_max=rel, rel_l2=rel_norm, ref_head=ref[0, :4].tolist(), torch_head=f[0, :4].tolist())


# ---------------------------------------------------------------- augmentation
def fov_mask(n, h, w, dev, diam, aspect=1.0, jitter=0.0, g=None):
    """1 inside, 0 outside an ellipse per image: a dermoscope's circular field of view. diam: [n] diameters as a
    fraction of the height; aspect: x radius / y radius (0.75 for a 4:3 image squashed to a square); jitter: centre shift."""
    ys = (torch.arange(h, device=dev).float() + 0.5) / h - 0.5; xs = (torch.arange(w, device=dev).float() + 0.5) / w - 0.5
    cy = cx = torch.zeros(n, device=dev)
    if jitter > 0:
        cy = (torch.rand(n, device=dev, generator=g) * 2 - 1) * jitter; cx = (torch.rand(n, device=dev, generator=g) * 2 - 1) * jitter
    ry = diam / 2; rx = ry * aspect
    d2 = ((ys[None, :, None] - cy[:, None, None]) / ry[:, None, None]) ** 2 + ((xs[None, None, :] - cx[:, None, None]) / rx[:, None, None]) ** 2
    return (d2 <= 1).float()[:, None]


def apply_fov(x, p, g):
    """With probability p per image: black (or near-black) outside a random ellipse, diameter 0.8-1.4 of the side."""
    n, dev = x.shape[0], x.device
    on = torch.rand(n, device=dev, generator=g) < p
    diam = 0.8 + torch.rand(n, device=dev, generator=g) * 0.6
    aspect = 0.75 + torch.rand(n, device=dev, generator=g) * 0.5
    m = fov_mask(n, x.shape[2], x.shape[3], dev, diam, aspect, 0.05, g)
    fill = torch.rand(n, 1, 1, 1, device=dev, generator=g) * 0.08
    masked = x * m + fill * (1 - m)
    return torch.where(on[:, None, None, None], masked, x)


def augment(x, strong, g):
    """x: float [0, 1] NCHW. trainer/train/augment.ts' 'strong' (rotation 180, shift 0.1, zoom 0.2 per axis,
    flips, colour jitter 0.15, reflect fill) or 'original' (rotation 10, shift 0.1, zoom 0.1, flips, edge fill)."""
    n, dev = x.shape[0], x.device
    u = lambda *s: torch.rand(*s, device=dev, generator=g) * 2 - 1
    rot = u(n) * (math.pi if strong else math.radians(10))
    zx, zy = 1 + u(n) * (0.2 if strong else 0.1), 1 + u(n) * (0.2 if strong else 0.1)
    sh = u(n, 2) * 0.1 * 2  # normalised coordinates span 2
    cos, sin = torch.cos(rot), torch.sin(rot)
    theta = torch.stack([torch.stack([cos * zx, -sin * zy, sh[:, 0]], 1), torch.stack([sin * zx, cos * zy, sh[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, padding_mode='reflection' if strong else 'border', align_corners=False)
    fh = torch.rand(n, device=dev, generator=g) < 0.5; fv = torch.rand(n, device=dev, generator=g) < 0.5
    x = torch.where(fh[:, None, None, None], x.flip(3), x); x = torch.where(fv[:, None, None, None], x.flip(2), x)
    if strong:
        j = 0.15
        b, c, sat = (1 + u(n, 1, 1, 1) * j for _ in range(3))
        x = x * b
        m = x.mean((1, 2, 3), keepdim=True); x = (x - m) * c + m
        gray = x.mean(1, keepdim=True); x = (x - gray) * sat + gray
    return x.clamp(0, 1)


# ---------------------------------------------------------------- metrics
def metrics(y, p):
    from sklearn.metrics import roc_auc_score
    pred = p.argmax(1)
    rec = [float(((pred == c) & (y == c)).sum() / max((y == c).sum(), 1)) for c in range(7)]
    auc = [roc_auc_score(y == c, p[:, c]) for c in range(7) if 0 < (y == c).sum() < len(y)]
    nll = float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1)).mean())
    return dict(bal=float(np.mean(rec)), auc=float(np.mean(auc)), acc=float((pred == y).mean()), nll=nll, rec=rec)


# ---------------------------------------------------------------- configs
BASE = dict(epochs=15, head_epochs=2, freeze_until=0, bb_scale=0.1, wd=0.05, batch=32, lr=1e-3, warmup=1,
            balance='sampling', ls=0.1, strong=True, ema=0.0, dropout=0.2, seed=0, size=None, mix=None, mix_alpha=0.0,
            fov=0.0, eval_fov=False)


def C(**kw):
    c = dict(BASE); c.update(kw); return c


# Priority order: long ones early so they don't straggle; the questions first.
PHASE1 = [
    ('base', C()),
    ('ep30', C(epochs=30)),
    ('ema', C(ema=0.999)),
    ('ema_ep30', C(ema=0.999, epochs=30)),
    ('base_s1', C(seed=1)),
    ('base_s2', C(seed=2)),
    ('lr5e-4', C(lr=5e-4)),
    ('lr3e-4', C(lr=3e-4)),
    ('bbs0.3', C(bb_scale=0.3)),
    ('bbs1.0', C(bb_scale=1.0)),
    ('fu4', C(freeze_until=4)),
    ('fu8', C(freeze_until=8)),
    ('fu13', C(freeze_until=13)),
    ('bal_weights', C(balance='weights')),
    ('bal_sqrt', C(balance='sqrt')),
    ('bal_none', C(balance='none')),
    ('aug_orig', C(strong=False)),
    ('ls0', C(ls=0.0)),
    ('drop0.5', C(dropout=0.5)),
    ('he0', C(head_epochs=0)),
    ('ep8', C(epochs=8)),
    ('ema_ep8', C(ema=0.999, epochs=8)),
    ('ema_lr5e-4', C(ema=0.999, lr=5e-4)),
    ('ema_bbs0.3', C(ema=0.999, bb_scale=0.3)),
    ('ema_sqrt', C(ema=0.999, balance='sqrt')),
    ('ep25', C(epochs=25)),
    # Seventh round, second device run: class weights combined with the other two single gains.
    ('w_s1', C(balance='weights', seed=1)),
    ('w_ema', C(balance='weights', ema=0.999)),
    ('w_lr5e-4', C(balance='weights', lr=5e-4)),
    ('w_ema_lr5e-4', C(balance='weights', ema=0.999, lr=5e-4)),
    ('w_ema_lr5e-4_s1', C(balance='weights', ema=0.999, lr=5e-4, seed=1)),
    ('w_ema_s1', C(balance='weights', ema=0.999, seed=1)),
    # Eighth round (one device run, data prepared at 192 px: --data-size 192): the input size, which the
    # classify budget limits, and three cheap recipe changes at 128 px, all on the class-weights recipe.
    ('s224', C(balance='weights', size=224)),
    ('s192', C(balance='weights', size=192)),
    ('s160', C(balance='weights', size=160)),
    ('s144', C(balance='weights', size=144)),
    ('s128', C(balance='weights', size=128)),
    ('w_mixup', C(balance='weights', size=128, mix='mixup', mix_alpha=0.2)),
    ('w_cutmix', C(balance='weights', size=128, mix='cutmix', mix_alpha=1.0)),
    ('logit_adjust', C(balance='logit_adjust', size=128)),
    ('s144_s1', C(balance='weights', size=144, seed=1)),
    ('s128_s1', C(balance='weights', size=128, seed=1)),
    # Eighth round, second device run: a dermoscope's circular field of view (black outside a circle), which
    # most HAM10000 images lack and many other dermoscopic images have; val scored clean and masked.
    ('fov0', C(balance='weights', eval_fov=True)),
    ('fov0.3', C(balance='weights', fov=0.3, eval_fov=True)),
    ('fov0.5', C(balance='weights', fov=0.5, eval_fov=True)),
    ('fov0_s1', C(balance='weights', eval_fov=True, seed=1)),
    ('fov0.3_s1', C(balance='weights', fov=0.3, eval_fov=True, seed=1)),
    ('fov0.5_s1', C(balance='weights', fov=0.5, eval_fov=True, seed=1)),
]


def resize_all(X, size):
    """uint8 NCHW images at the stored size -> uint8 at `size` (antialiased bilinear, like a box filter when shrinking)."""
    if size is None or size == X.shape[-1]: return X
    out = [F.interpolate(X[i:i + 512].float(), size=(size, size), mode='bilinear', antialias=True, align_corners=False)
           .round_().clamp_(0, 255).to(torch.uint8) for i in range(0, X.shape[0], 512)]
    return torch.cat(out).contiguous(memory_format=torch.channels_last)


def mix_batch(xb, yb, cfg, g):
    """mixup / cutmix of a batch with itself reversed-permuted; returns images, partner labels and the weight lam of yb."""
    n, dev = xb.shape[0], xb.device
    perm = torch.randperm(n, device=dev, generator=g)
    lam = float(np.random.beta(cfg['mix_alpha'], cfg['mix_alpha']))
    if cfg['mix'] == 'mixup':
        return lam * xb + (1 - lam) * xb[perm], yb[perm], lam
    h, w = xb.shape[-2:]
    ch, cw = int(h * math.sqrt(1 - lam)), int(w * math.sqrt(1 - lam))
    cy, cx = np.random.randint(h), np.random.randint(w)
    y0, y1, x0, x1 = max(cy - ch // 2, 0), min(cy + ch // 2, h), max(cx - cw // 2, 0), min(cx + cw // 2, w)
    xb = xb.clone(); xb[:, :, y0:y1, x0:x1] = xb[perm][:, :, y0:y1, x0:x1]
    return xb, yb[perm], 1 - (y1 - y0) * (x1 - x0) / (h * w)


# ---------------------------------------------------------------- training
DATA_SIZE = int(os.environ.get('SWEEP_DATA_SIZE', '128'))


def load_arrays(dev, smoke=False):
    cache = f'/tmp/ham{DATA_SIZE}_u8.npz'
    if os.path.exists(cache):
        d = np.load(cache); x, y, side = d['x'], d['y'], d['side']
    else:
        from PIL import Image
        d = np.load(os.path.join(GPU, f'ham{DATA_SIZE}.npz')); o, j = d['offsets'], d['jpeg']
        x = np.stack([np.asarray(Image.open(io.BytesIO(j[o[i]:o[i + 1]].tobytes())).convert('RGB')) for i in range(len(o) - 1)])
        y, side = d['labels'], d['side']
        assert set(side.tolist()) <= {'train', 'val'}
        np.savez(cache + '.tmp.npz', x=x, y=y, side=side); os.replace(cache + '.tmp.npz', cache)
    if smoke:  # a small stratified-ish subset
        keep = np.concatenate([np.where(side == 'train')[0][::20], np.where(side == 'val')[0][::20]])
        x, y, side = x[keep], y[keep], side[keep]
    X = torch.from_numpy(x).to(dev).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)  # uint8
    return X, torch.from_numpy(y).to(dev), side


def run_config(name, cfg, X, Y, side, dev, log, steps_override=None):
    torch.manual_seed(cfg['seed']); np.random.seed(cfg['seed'])
    g = torch.Generator(device=dev); g.manual_seed(1000 + cfg['seed'])
    tr = torch.from_numpy(np.where(side == 'train')[0]).to(dev); va = torch.from_numpy(np.where(side == 'val')[0]).to(dev)
    X = resize_all(X, cfg['size'])
    ytr = Y[tr]; counts = torch.bincount(ytr, minlength=7).float(); yva = Y[va].cpu().numpy()
    model = MNV2(dropout=cfg['dropout']); model.load_backbone(os.path.join(GPU, 'mnv2.npz'))
    model = model.to(dev).to(memory_format=torch.channels_last)
    # Frozen: stem and blocks < freeze_until. Backbone = other convs; head = fc.
    bb_k, bb_b, frozen = [], [], []
    for c in model.convs():
        if cfg['freeze_until'] > 0 and c.block < cfg['freeze_until']:
            for p in c.parameters(): p.requires_grad_(False); frozen.append(p)
        else:
            bb_k.append(c.conv.weight); bb_b.append(c.conv.bias)
    groups = [dict(params=[model.fc.weight], weight_decay=cfg['wd'], s=1.0), dict(params=[model.fc.bias], weight_decay=0.0, s=1.0),
              dict(params=bb_k, weight_decay=cfg['wd'], s=cfg['bb_scale']), dict(params=bb_b, weight_decay=0.0, s=cfg['bb_scale'])]
    opt = torch.optim.AdamW(groups, lr=cfg['lr'], betas=(0.9, 0.999), eps=1e-7, **({'fused': True} if dev == 'cuda' else {}))
    ema = None
    if cfg['ema'] > 0:
        ema = copy.deepcopy(model); [p.requires_grad_(False) for p in ema.parameters()]
        ema_p, mod_p = list(ema.parameters()), list(model.parameters())
    bs = cfg['batch']; ntr = len(tr); steps = steps_override or math.ceil(ntr / bs)
    total = cfg['epochs'] * steps; warm = cfg['warmup'] * steps
    cw = (ntr / (7 * counts)) if cfg['balance'] == 'weights' else None
    # Logit adjustment (Menon et al. 2021): train on logits + log(prior), predict with the plain logits.
    log_prior = (counts / ntr).log() if cfg['balance'] == 'logit_adjust' else None
    if cfg['balance'] == 'sampling': draw_w = (1 / counts)[ytr]
    elif cfg['balance'] == 'sqrt': draw_w = (1 / counts.sqrt())[ytr]
    else: draw_w = None
    ls = cfg['ls']; amp = dict(device_type='cuda', dtype=torch.bfloat16) if dev == 'cuda' else dict(device_type='cpu', dtype=torch.bfloat16, enabled=False)

    def lr_at(step):
        if warm > 0 and step < warm: return cfg['lr'] * (step + 1) / warm
        prog = min(1.0, (step - warm) / max(1, total - warm))
        return 0.5 * cfg['lr'] * (1 + math.cos(math.pi * prog))

    def predict(m, diam=0.0):
        """Val probabilities; diam > 0: black outside a centred circle of that fraction of a 4:3 image's height."""
        m.eval(); out = []
        with torch.no_grad(), torch.autocast(**amp):
            for i in range(0, len(va), 512):
                xb = X[va[i:i + 512]].float().div_(255)
                if diam > 0: xb = xb * fov_mask(xb.shape[0], xb.shape[2], xb.shape[3], xb.device, torch.full((xb.shape[0],), diam, device=xb.device), 0.75)
                out.append(F.softmax(m(xb).float(), 1))
        m.train(); return torch.cat(out).cpu().numpy()

    hist, step, t0 = [], 0, time.time()
    bb_params = bb_k + bb_b
    for ep in range(1, cfg['epochs'] + 1):
        te = time.time()
        train_bb = ep > cfg['head_epochs']
        for p in bb_params: p.requires_grad_(train_bb)
        order = torch.multinomial(draw_w, ntr, replacement=True, generator=g) if draw_w is not None else torch.randperm(ntr, device=dev, generator=g)
        lsum = torch.zeros((), device=dev)
        for b in range(steps):
            bi = tr[order[b * bs:(b + 1) * bs]]
            xb = augment(X[bi].float().div_(255), cfg['strong'], g)
            if cfg['fov'] > 0: xb = apply_fov(xb, cfg['fov'], g)
            xb = xb.contiguous(memory_format=torch.channels_last); yb = Y[bi]
            yb2, lam = yb, 1.0
            if cfg['mix']: xb, yb2, lam = mix_batch(xb, yb, cfg, g); xb = xb.contiguous(memory_format=torch.channels_last)
            lr = lr_at(step)
            for gr in opt.param_groups: gr['lr'] = lr * gr['s']
            with torch.autocast(**amp):
                logits = model(xb)
            logits = logits.float()
            if log_prior is not None: logits = logits + log_prior
            logp = F.log_softmax(logits, 1)
            smooth = lambda t: F.one_hot(t, 7).float() * (1 - ls) + ls / 7
            target = lam * smooth(yb) + (1 - lam) * smooth(yb2)
            per = -(target * logp).sum(1)
            if cw is not None: per = per * (lam * cw[yb] + (1 - lam) * cw[yb2])
            loss = per.mean()
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
            if ema is not None:
                d = min(cfg['ema'], (1 + step) / (10 + step))
                torch._foreach_mul_(ema_p, d); torch._foreach_add_(ema_p, mod_p, alpha=1 - d)
            lsum += loss.detach(); step += 1
        p_raw = predict(model); m_raw = metrics(yva, p_raw)
        m_val = metrics(yva, predict(ema)) if ema is not None else m_raw
        h = dict(config=name, epoch=ep, loss=float(lsum) / steps, lr=lr, bal=m_val['bal'], auc=m_val['auc'], acc=m_val['acc'],
                 nll=m_val['nll'], rec=m_val['rec'], raw_bal=m_raw['bal'], raw_auc=m_raw['auc'], secs=time.time() - te)
        if cfg.get('eval_fov'):
            for dm in (1.25, 1.0):
                mf = metrics(yva, predict(ema if ema is not None else model, dm))
                h[f'bal_fov{dm}'] = mf['bal']; h[f'auc_fov{dm}'] = mf['auc']
        hist.append(h); log(h)
    bal = [h['bal'] for h in hist]; best = int(np.argmax(bal))
    return dict(config=name, cfg=cfg, best_bal=bal[best], best_epoch=best + 1, last3_bal=float(np.mean(bal[-3:])),
                last3_auc=float(np.mean([h['auc'] for h in hist[-3:]])), best_auc=hist[best]['auc'], final_auc=hist[-1]['auc'],
                last3_raw_bal=float(np.mean([h['raw_bal'] for h in hist[-3:]])), secs=time.time() - t0, hist=hist,
                **({f'last3_{k}': float(np.mean([h[k] for h in hist[-3:]])) for k in ('bal_fov1.25', 'bal_fov1.0', 'auc_fov1.0')} if cfg.get('eval_fov') else {}))


# ---------------------------------------------------------------- workers
_W = {}


def _init(out, smoke):
    dev = 'cuda' if torch.cuda.is_available() else 'cpu'
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    if dev == 'cpu': torch.set_num_threads(1)
    X, Y, side = load_arrays(dev, smoke)
    _W.update(dev=dev, X=X, Y=Y, side=side, out=out, smoke=smoke)


def _log_epoch(h):
    with open(os.path.join(_W['out'], 'epochs.jsonl'), 'a') as f:
        f.write(json.dumps(h) + '\n'); f.flush()
    print(f"[{h['config']}] ep {h['epoch']} loss {h['loss']:.3f} val bal {h['bal']:.4f} auc {h['auc']:.4f} raw {h['raw_bal']:.4f} {h['secs']:.1f}s", flush=True)


def _job(task):
    name, cfg, deadline = task
    # Skip a config that would not finish by the deadline, judged by this worker's last seconds per epoch.
    if time.time() + cfg['epochs'] * _W.get('spe', 0) > deadline:
        return dict(config=name, cfg=cfg, skipped=True)
    try:
        cfg = dict(cfg)
        if _W['smoke']: cfg['epochs'] = min(cfg['epochs'], 2); cfg['head_epochs'] = min(cfg['head_epochs'], 1); cfg['warmup'] = min(cfg['warmup'], 1)
        r = run_config(name, cfg, _W['X'], _W['Y'], _W['side'], _W['dev'], _log_epoch, steps_override=3 if _W['smoke'] else None)
        _W['spe'] = r['secs'] / cfg['epochs']
        return r
    except Exception as e:  # one config failing must not lose the others
        import traceback; traceback.print_exc()
        return dict(config=name, cfg=cfg, error=repr(e))


def summary(results):
    ok = [r for r in results if 'last3_bal' in r]
    ok.sort(key=lambda r: -r['last3_bal'])
    lines = ['| config | best val BA (ep) | last-3 mean val BA | val macro AUC (last 3) | secs | last-3 val BA, masked 1.25 / 1.0 |', '|---|---|---|---|---|---|']
    for r in ok:
        fov = f"{r['last3_bal_fov1.25']:.4f} / {r['last3_bal_fov1.0']:.4f}" if 'last3_bal_fov1.0' in r else ''
        lines.append(f"| {r['config']} | {r['best_bal']:.4f} ({r['best_epoch']}) | {r['last3_bal']:.4f} | {r['last3_auc']:.4f} | {r['secs']:.0f} | {fov} |")
    for r in results:
        if 'last3_bal' not in r: lines.append(f"| {r['config']} | {'skipped' if r.get('skipped') else 'error: ' + r.get('error', '?')} | | | |")
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True); ap.add_argument('--workers', type=int, default=8)
    ap.add_argument('--budget', type=float, default=420, help='seconds from start after which no new config starts')
    ap.add_argument('--seed-budget', type=float, default=170, help='start the top-3 seed repeats only if this many seconds are left')
    ap.add_argument('--only', default=''); ap.add_argument('--smoke', action='store_true')
    ap.add_argument('--data-size', type=int, default=128, help='which .gpu/ham<N>.npz to load (configs resize from it)')
    a = ap.parse_args()
    global DATA_SIZE
    DATA_SIZE = a.data_size; os.environ['SWEEP_DATA_SIZE'] = str(a.data_size)  # spawned workers read the environment
    t_start = time.time(); deadline = t_start + a.budget
    os.makedirs(a.out, exist_ok=True)
    dev = 'cuda' if torch.cuda.is_available() else 'cpu'
    info = dict(torch=torch.__version__, dev=dev, gpu=torch.cuda.get_device_name() if dev == 'cuda' else None)
    pc = port_check(dev); info['port_check'] = pc
    print('port check', json.dumps(pc), flush=True)
    json.dump(info, open(os.path.join(a.out, 'info.json'), 'w'), indent=1)
    if pc['max_abs_over_max'] > 1e-2:
        print('PORT CHECK FAILED: torch features differ from tfjs-node; not sweeping', flush=True); sys.exit(2)
    load_arrays('cpu')  # decode once into /tmp before the workers start
    phase1 = [(n, c) for n, c in PHASE1 if not a.only or n in a.only.split(',')]
    results = []
    res_path = os.path.join(a.out, 'results.jsonl')

    def record(r):
        results.append(r)
        with open(res_path, 'a') as f: f.write(json.dumps({k: v for k, v in r.items() if k != 'hist'}) + '\n'); f.flush()
        open(os.path.join(a.out, 'summary.md'), 'w').write(summary(results) + '\n')
        if 'last3_bal' in r:
            print(f"DONE {r['config']}: best {r['best_bal']:.4f} (ep {r['best_epoch']}) last3 {r['last3_bal']:.4f} auc {r['last3_auc']:.4f} {r['secs']:.0f}s  t+{time.time() - t_start:.0f}s", flush=True)
        else:
            print('NOT DONE', r['config'], r.get('error', 'skipped'), flush=True)

    import multiprocessing as mp
    ctx = mp.get_context('spawn')
    with ctx.Pool(a.workers, initializer=_init, initargs=(a.out, a.smoke)) as pool:
        pending = [pool.apply_async(_job, ((n, c, deadline),)) for n, c in phase1]
        seeds_started = False
        done = set()
        while True:
            for i, p in enumerate(pending):
                if i not in done and p.ready(): done.add(i); record(p.get())
            # Top-3 seed repeats once the single-setting configs are in (or earlier if time is short), if time allows.
            if not seeds_started and not a.only:
                base_names = {n for n, _ in PHASE1}
                finished = [r for r in results if 'last3_bal' in r and r['config'] in base_names]
                left = deadline - time.time()
                if (len(finished) >= len(phase1) - a.workers or left < a.seed_budget + 30) and len(finished) >= 6:
                    seeds_started = True
                    cands = sorted([r for r in finished if not r['config'].startswith('base')], key=lambda r: -r['last3_bal'])[:3]
                    if left > a.seed_budget:
                        for r in cands:
                            for s in (1, 2):
                                c = dict(r['cfg']); c['seed'] = s
                                pending.append(pool.apply_async(_job, ((f"{r['config']}_s{s}", c, deadline),)))
                        print('seed repeats for', [r['config'] for r in cands], flush=True)
            if len(done) == len(pending) and (seeds_started or a.only or len(results) == len(phase1)):
                break
            time.sleep(1)
    print(summary(results), flush=True)
    print('total secs', round(time.time() - t_start), flush=True)


if __name__ == '__main__':
    main()
