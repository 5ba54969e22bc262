#!/usr/bin/env python3
"""Keras peer of `npm run bench:train`: the same network, batch, loss and augmentation, trained step by
step in Keras/TF (graph mode, as model.fit runs on CPU), timed per batch. Prints one JSON line.

Run by scripts/bench-train.ts (`npm run bench:train -- --peer keras`), which compares it with DermLens'
own training step in the same run; by hand:

    python3 scripts/bench-train-keras.py --arch mobilenetv2 --size 128 --batch-size 32 --augment strong

The networks mirror core/models.ts and core/mobilenet-v2.ts layer for layer: `seed` (3 conv blocks
with BatchNorm, Flatten, Dense 512) and `mobilenetv2` as DermLens trains it, i.e. MobileNetV2 1.0 with
BatchNorm folded into conv + bias (the published TFLite backbone has no BatchNorm left). The
augmentation is Keras' preprocessing layers inside the training graph: flips, rotation, shift and zoom
(and, for 'strong', brightness/contrast), the same kinds of work as trainer/train/augment.ts.
"""
import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", choices=["seed", "mobilenetv2"], default="seed")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--augment", choices=["original", "strong", "none"], default="original")
    p.add_argument("--freeze-until", type=int, default=0, help="mobilenetv2: stem and blocks below this index frozen")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--batches", type=int, default=15)
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args()


STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def mobilenetv2(keras, size, freeze_until):
    """core/mobilenet-v2.ts buildMobileNetV2: conv + bias + ReLU6 where the original had conv + BN + ReLU6."""
    layers = keras.layers
    frozen = lambda block: freeze_until > 0 and block < freeze_until

    def conv(x, filters, k, s, relu6, block):
        return layers.Conv2D(filters, k, strides=s, padding="same", activation="relu6" if relu6 else None,
                             trainable=not frozen(block))(x)

    inp = keras.Input((size, size, 3))
    x = layers.Rescaling(2.0, offset=-1.0)(inp)
    x = conv(x, 32, 3, 2, True, -1)
    channels, k = 32, 0
    for t, c, n, s in STAGES:
        for i in range(n):
            stride = s if i == 0 else 1
            y = x
            if t != 1:
                y = conv(y, channels * t, 1, 1, True, k)
            y = layers.DepthwiseConv2D(3, strides=stride, padding="same", activation="relu6", trainable=not frozen(k))(y)
            y = conv(y, c, 1, 1, False, k)
            x = layers.Add()([x, y]) if stride == 1 and channels == c else y
            channels = c
            k += 1
    x = conv(x, 1280, 1, 1, True, k)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    out = layers.Dense(7, activation="softmax")(x)
    return keras.Model(inp, out)


def seed_cnn(keras, size):
    """core/models.ts buildSeed: the original Keras app's CNN."""
    layers = keras.layers
    model = keras.Sequential([keras.Input((size, size, 3))])
    for filters in (32, 64, 128):
        model.add(layers.Conv2D(filters, 3, padding="same", activation="relu"))
        model.add(layers.BatchNormalization())
        model.add(layers.MaxPooling2D(2))
        model.add(layers.Dropout(0.25))
    model.add(layers.Flatten())
    model.add(layers.Dense(512, activation="relu"))
    model.add(layers.BatchNormalization())
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(7, activation="softmax"))
    return model


def augmentation(keras, recipe):
    """trainer/train/augment.ts' recipes as Keras preprocessing layers (active in training only)."""
    layers = keras.layers
    if recipe == "none":
        return []
    # original: rotation 10 deg, shift 0.1, zoom 0.1, fill nearest; strong: rotation 180 deg, zoom 0.2,
    # fill reflect, colour jitter 0.15 (trainer/train/augment.ts ORIGINAL_AUGMENT / STRONG_AUGMENT).
    strong = recipe == "strong"
    fill = "reflect" if strong else "nearest"
    out = [layers.RandomFlip("horizontal_and_vertical"), layers.RandomRotation(0.5 if strong else 10 / 360, fill_mode=fill),
           layers.RandomTranslation(0.1, 0.1, fill_mode=fill), layers.RandomZoom(0.2 if strong else 0.1, fill_mode=fill)]
    if strong:
        out += [layers.RandomBrightness(0.15, value_range=(0, 1)), layers.RandomContrast(0.15)]
    return out


def main():
    args = parse_args()
    try:
        import numpy as np
        import tensorflow as tf
        import keras
    except ImportError as err:
        print(json.dumps({"error": f"python3 has no tensorflow/keras ({err}); install the TF 2.21 wheel with pip"}))
        return 0
    keras.utils.set_random_seed(args.seed)
    net = mobilenetv2(keras, args.size, args.freeze_until) if args.arch == "mobilenetv2" else seed_cnn(keras, args.size)
    model = keras.Sequential([keras.Input((args.size, args.size, 3)), *augmentation(keras, args.augment), net])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1))
    rng = np.random.default_rng(args.seed)
    x = rng.random((args.batch_size, args.size, args.size, 3), dtype=np.float32)
    y = np.eye(7, dtype=np.float32)[rng.integers(0, 7, args.batch_size)]
    times, loss = [], float("nan")
    for i in range(args.warmup + args.batches):
        t0 = time.perf_counter()
        loss = float(model.train_on_batch(x, y))
        ms = (time.perf_counter() - t0) * 1000
        if i >= args.warmup:
            times.append(ms)
        print(f"\r  keras: batch {i + 1}/{args.warmup + args.batches} {ms:.0f} ms", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    print(json.dumps({
        "description": f"Keras {keras.__version__} / TensorFlow {tf.__version__}, graph mode (train_on_batch)",
        "medianMs": statistics.median(times), "minMs": min(times), "maxMs": max(times), "batches": len(times),
        "lastLoss": loss, "parameters": int(net.count_params()),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
