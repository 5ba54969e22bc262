// The gate's parts of the model card (trainer/ship/gate-card.ts), from a three-way gate.json and from an
// older two-way one: the figures the extension quotes, the "Phone and clinical photos" section and the targets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clinicalPhotoFigures,
  gateLimitation,
  gateTargets,
  outOfScopeSection,
  phoneAndClinicalSection,
} from '../../trainer/ship/gate-card.ts';
import { parseModelCard } from '../../core/model-card.ts';
import type { GateReport, LegacyGateReport } from '../../trainer/train/fit-gate.ts';

const rate = (flagged: number, n: number) => ({ n, flagged, rate: flagged / n });
const kindRate = (flagged: number, named: number, n: number) => ({ ...rate(flagged, n), named, namedRate: named / n });

const legacy: LegacyGateReport = {
  format: 'dermlens-gate-v1',
  method: 'logistic regression',
  threshold: 0.9277,
  targetValFlagRate: 0.01,
  training: { dermoscopic: 7011, notDermoscopic: 1487, notDermoscopicPerSource: { synthetic: 1487 }, steps: 600, l2: 0.001 },
  val: { ham: rate(15, 1502), ood: rate(517, 517) },
  test: { ham: rate(15, 1502), hamPerClass: { mel: rate(0, 167) }, ood: rate(511, 512), oodPerSource: { synthetic: rate(511, 512) } },
};

const threeWay: GateReport = {
  ...legacy,
  format: 'dermlens-gate-v2',
  method: 'multinomial logistic regression',
  kinds: ['dermoscopic', 'clinical', 'other'],
  clinicalThreshold: 0.42,
  features: 1280,
  featuresFrom: 'runs/x/best-float16',
  training: { ...legacy.training, dermoscopicPerSource: { ham10000: 7011 }, clinical: 352, clinicalPatients: 261 },
  clinicalSet: {
    dir: 'pad',
    split: 'by patient',
    photos: { train: 352, val: 83, heldout: 98 },
    patients: { train: 261, val: 69, heldout: 74 },
  },
  val: { ham: rate(15, 1502), ood: kindRate(517, 500, 517), clinical: kindRate(80, 75, 83) },
  test: {
    ...legacy.test,
    external: { msk: rate(10, 729), ph2: rate(1, 200) },
    ood: kindRate(511, 490, 512),
    oodPerSource: { synthetic: kindRate(511, 490, 512) },
    clinical: { ...kindRate(91, 85, 98), patients: 74 },
    clinicalPerDiagnosis: { BCC: kindRate(40, 38, 41) },
    clinicalLesions: { n: 94, balancedAccuracy: 0.361, chance: 0.2, perClass: { bcc: { support: 41, recall: 0.5 } }, leftOut: { SCC: 4 } },
  },
  skipped: [],
  oodDir: 'ood',
};

test('the three-way gate gives the extension its measured figures for clinical photos; the two-way gate gives none', () => {
  const figures = clinicalPhotoFigures(threeWay)!;
  assert.deepEqual(figures, {
    photos: '98 phone photos of skin spots from 74 patients (PAD-UFES-20)',
    n: 98,
    notDermoscopicRate: 91 / 98,
    namedClinicalRate: 85 / 98,
    lesionBalancedAccuracy: 0.361,
    lesionChance: 0.2,
  });
  assert.deepEqual(
    parseModelCard({ name: 'm', version: 'v', created: 'd', arch: 'a', inputSize: 1, clinicalPhotos: figures }).clinicalPhotos,
    figures,
  );
  assert.equal(clinicalPhotoFigures(legacy), null);
  assert.equal(clinicalPhotoFigures(null), null);
});

test('"Phone and clinical photos": the held-out figures and what they mean for a user; absent for the two-way gate', () => {
  const md = phoneAndClinicalSection(threeWay);
  assert.match(md, /^## Phone and clinical photos\n/);
  assert.match(md, /\| not presented as dermoscopic \| 92\.9% \(91 of 98\) \|/);
  assert.match(md, /\| named "clinical" \(an ordinary photo of skin\) \| 86\.7% \(85 of 98\) \|/);
  assert.match(md, /balanced accuracy was \*\*0\.361\*\* \(chance 0\.20\)/);
  assert.match(md, /left out: SCC 4/);
  assert.match(md, /\*\*What this means for you\.\*\*/);
  assert.match(md, /About\n?\s*7\.1% of such photos still pass as dermoscopic/);
  assert.match(md, /the lesion classifier never learned to read it/);
  // A classifier trained with phone photos says so, and an interval drawn by patient is printed when the gate has one.
  const withInterval = {
    ...threeWay,
    test: { ...threeWay.test, clinicalLesions: { ...threeWay.test.clinicalLesions, interval: { low: 0.25, high: 0.47, level: 0.95 } } },
  };
  const trained = phoneAndClinicalSection(withInterval, { folder: 'pad-ufes-20', photos: 340, patients: 241 });
  assert.match(trained, /learned them from 340 photos only \(pad-ufes-20's 241 training patients/);
  assert.doesNotMatch(trained, /never learned/);
  assert.match(trained, /balanced accuracy was \*\*0\.361\*\* \(95% interval 0\.25-0\.47, drawn by patient\) \(chance 0\.20\)/);
  assert.doesNotMatch(trained, /Can the classifier learn phone photos/, 'no comparison without --compare');
  // With fit-gate --compare: the shipped classifier beside the other run, and what the 0.55 rule makes of it.
  const row = (run: string, photosTrained: number, ba: number, val: number, ext: number, alert: number) => ({
    run,
    photosTrained,
    lesions: { ...threeWay.test.clinicalLesions, balancedAccuracy: ba, interval: { low: ba - 0.1, high: ba + 0.1, level: 0.95 } },
    valBalancedAccuracy: val,
    external: { balancedAccuracy: ext, melanomaAlertRecall: alert },
  });
  const compared = phoneAndClinicalSection({
    ...threeWay,
    test: {
      ...threeWay.test,
      clinicalLesionsCompared: [row('r5-mix05', 0, 0.467, 0.7, 0.579, 0.778), row('r6-pad', 340, 0.67, 0.706, 0.593, 0.679)],
    },
  });
  assert.match(compared, /The shipped classifier \(r5-mix05\) beside r6-pad/);
  assert.match(compared, /\| r5-mix05 \(shipped\) \| 0 \| 0\.467 \(0\.37-0\.57\) \| 0\.700 \| 0\.579 \| 77\.8% \|/);
  assert.match(compared, /\| r6-pad \| 340 \| 0\.670 \(0\.57-0\.77\) \| 0\.706 \| 0\.593 \| 67\.9% \|/);
  assert.match(compared, /The shipped classifier does not, so the answer stays folded/);
  const learned = phoneAndClinicalSection({
    ...threeWay,
    test: {
      ...threeWay.test,
      clinicalLesionsCompared: [row('r6-pad', 340, 0.67, 0.706, 0.593, 0.679), row('r5-mix05', 0, 0.467, 0.7, 0.579, 0.778)],
    },
  });
  assert.match(learned, /The shipped classifier reaches 0\.55 on phone photos/);
  assert.equal(phoneAndClinicalSection(legacy), '');
  const scope = outOfScopeSection(threeWay);
  assert.match(scope, /\| external dermoscopic collection msk \(never trained on\) \| 1\.4% \(10 of 729\) \|/);
  assert.match(scope, /named "other" 95\.7% \(490 of 512\)/);
  assert.doesNotMatch(scope, /says nothing reliable about them/);
  assert.match(outOfScopeSection(legacy), /says nothing reliable about them/);
  assert.match(gateLimitation(threeWay), /kept 92\.9% from passing as dermoscopic.*balanced accuracy of 0\.36 on them \(chance 0\.20\)/);
});

test('the targets: clinical photos >= 90% not dermoscopic and >= 80% named clinical, each external collection <= 3% flagged', () => {
  const targets = Object.fromEntries(gateTargets(threeWay).map(([name, met, value]) => [name, [met, value]]));
  assert.deepEqual(targets['Held-out clinical (phone) photos not presented as dermoscopic >= 90%'], [true, '92.9% (91 of 98)']);
  assert.deepEqual(targets['Held-out clinical (phone) photos named "clinical" >= 80%'], [true, '86.7% (85 of 98)']);
  assert.deepEqual(targets['External dermoscopic collection msk (never trained on) flagged <= 3%'], [true, '1.4% (10 of 729)']);
  const missed = { ...threeWay, test: { ...threeWay.test, clinical: { ...kindRate(85, 70, 98), patients: 74 } } };
  const after = Object.fromEntries(gateTargets(missed).map(([name, met]) => [name, met]));
  assert.equal(after['Held-out clinical (phone) photos not presented as dermoscopic >= 90%'], false, '86.7% misses 90%');
  assert.equal(after['Held-out clinical (phone) photos named "clinical" >= 80%'], false, '71.4% misses 80%');
  assert.equal(gateTargets(legacy).length, 2, 'the two-way gate keeps its two targets');
});
