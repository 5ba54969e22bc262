// Merges trained networks into one TF.js layers model that averages their class probabilities.
//
// The result is an ordinary functional model with one input and one output: every member's layers are
// copied into a single flat graph (names prefixed m0_, m1_, ...) that shares the input and ends in an
// Average layer. So everything that handles one model handles the ensemble unchanged: export and
// float16 quantization, loading in the extension, BatchNorm folding (which sees each member's conv +
// BatchNorm pairs as before), metadata, the model card. A nested model-in-model would not fold and
// serialises less reliably across tfjs versions.
import { tf } from '../../core/tf.ts';
import { ensembleMemberPrefix } from '../../core/ensemble-layers.ts';

type InboundTensor = [string, number, number, Record<string, unknown>?];
type LayerJson = { name?: string; class_name: string; config: Record<string, unknown>; inbound_nodes: InboundTensor[][] };
type FunctionalJson = {
  class_name: string;
  config: { name: string; layers: LayerJson[]; input_layers: InboundTensor[]; output_layers: InboundTensor[] };
};

export const ENSEMBLE_INPUT = 'ensemble_input';
export const ENSEMBLE_OUTPUT = 'ensemble_average';

/** A member's functional-model JSON, or a clear error for what cannot be merged. */
function functionalTopology(model: tf.LayersModel, member: number): FunctionalJson {
  const topology = model.toJSON(null, false) as unknown as FunctionalJson;
  const { layers, input_layers: inputs, output_layers: outputs } = topology.config ?? {};
  if (!Array.isArray(layers) || !inputs || !outputs) {
    throw new Error(
      `member ${member} (${model.name}) is a Sequential model; only functional models (e.g. the compact architecture) can be merged`,
    );
  }
  if (inputs.length !== 1 || outputs.length !== 1) throw new Error(`member ${member} must have exactly one input and one output`);
  return topology;
}

/**
 * One model computing the mean of the members' outputs (their softmax probabilities), with the members'
 * weights copied in. The members must share their input shape and output width; they are not disposed.
 */
export async function mergeModels(members: readonly tf.LayersModel[], name = 'ensemble'): Promise<tf.LayersModel> {
  if (members.length < 2) throw new Error(`an ensemble needs at least two models, got ${members.length}`);
  const inputShape = JSON.stringify(members[0].inputs[0].shape);
  const outputShape = JSON.stringify(members[0].outputs[0].shape);
  members.forEach((m, i) => {
    if (JSON.stringify(m.inputs[0].shape) !== inputShape)
      throw new Error(
        `member ${i} takes input ${JSON.stringify(m.inputs[0].shape)}, member 0 takes ${inputShape}: members must share the input size`,
      );
    if (JSON.stringify(m.outputs[0].shape) !== outputShape)
      throw new Error(`member ${i} outputs ${JSON.stringify(m.outputs[0].shape)}, member 0 outputs ${outputShape}`);
  });

  const topologies = members.map(functionalTopology);
  const inputLayer = topologies[0].config.layers.find((l) => l.name === topologies[0].config.input_layers[0][0])!;
  const layers: LayerJson[] = [{ ...inputLayer, name: ENSEMBLE_INPUT, config: { ...inputLayer.config, name: ENSEMBLE_INPUT } }];
  const memberOutputs: InboundTensor[] = [];
  topologies.forEach((topology, i) => {
    const inputName = topology.config.input_layers[0][0];
    const rename = (layerName: string) => (layerName === inputName ? ENSEMBLE_INPUT : ensembleMemberPrefix(i) + layerName);
    for (const layer of topology.config.layers) {
      if (layer.config.name === inputName) continue;
      const renamed = rename(layer.config.name as string);
      layers.push({
        ...layer,
        name: renamed,
        config: { ...layer.config, name: renamed },
        inbound_nodes: layer.inbound_nodes.map((node) =>
          node.map(([n, nodeIndex, tensorIndex, kwargs]) => [rename(n), nodeIndex, tensorIndex, kwargs ?? {}] as InboundTensor),
        ),
      });
    }
    const [outName, nodeIndex, tensorIndex] = topology.config.output_layers[0];
    memberOutputs.push([rename(outName), nodeIndex, tensorIndex, {}]);
  });
  layers.push({
    name: ENSEMBLE_OUTPUT,
    class_name: 'Average',
    config: { name: ENSEMBLE_OUTPUT, trainable: false },
    inbound_nodes: [memberOutputs],
  });

  const merged = await tf.models.modelFromJSON({
    class_name: 'Model',
    config: { name, layers, input_layers: [[ENSEMBLE_INPUT, 0, 0]], output_layers: [[ENSEMBLE_OUTPUT, 0, 0]] },
  } as unknown as tf.io.ModelJSON['modelTopology'] as never);
  members.forEach((member, i) => {
    for (const layer of member.layers) {
      if (layer.getClassName() === 'InputLayer') continue;
      merged.getLayer(ensembleMemberPrefix(i) + layer.name).setWeights(layer.getWeights());
    }
  });
  return merged;
}
