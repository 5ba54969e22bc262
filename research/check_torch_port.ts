// Reference features for research/gpu_sweep_mnv2.py's port check. Builds our MobileNetV2 exactly as the
// trainer does (core/mobilenet-v2.ts at the given size, the imported backbone's rescaling and its 52
// convolutions copied in), runs it with tfjs-node on raw float32 NHWC images in [0, 1] (core/preprocess.ts'
// range) and writes the 1280-d global-average-pooled features (layer global_pool), float32.
// Usage: npx tsx research/check_torch_port.ts <in.f32> <n> <size> <out.f32> [backbone dir]
import fs from 'node:fs';
import '@tensorflow/tfjs-node';
import { tf } from '../core/tf.ts';
import { buildMobileNetV2, copyMobileNetV2Backbone, backboneRescaling, MNV2_LAYER } from '../core/mobilenet-v2.ts';

const [inFile, n, size, outFile, dir = '/work/backbones/mnv2-quant'] = process.argv.slice(2);
await tf.setBackend('tensorflow');
const backbone = await tf.loadLayersModel(`file://${dir}/model.json`);
const model = buildMobileNetV2({ inputSize: Number(size), rescaling: backboneRescaling(backbone) });
copyMobileNetV2Backbone(model, backbone);
const feat = tf.model({ inputs: model.inputs, outputs: model.getLayer(MNV2_LAYER.pool).output as tf.SymbolicTensor });
const buf = fs.readFileSync(inFile);
const x = tf.tensor4d(new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4), [Number(n), Number(size), Number(size), 3]);
const y = feat.predict(x) as tf.Tensor;
const data = await y.data();
fs.writeFileSync(outFile, Buffer.from(data.buffer));
console.log(tf.getBackend(), backboneRescaling(backbone), y.shape, Array.from(data.slice(0, 4)));
