// The real (not generated) images of the out-of-distribution set: where each source comes from, how
// it is fetched into the cache (apt-get download + dpkg -x, pip download), which of its files are
// used, and its licence note. Nothing here is dermoscopy.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { unzipSync } from 'fflate';

export interface SourceFile {
  /** Absolute path of the original file in the cache. */
  path: string;
  /** Where it is inside its package, wheel or folder, for the manifest. */
  origin: string;
  /** What keeps near-duplicates together on one side of the split (a wallpaper's light/dark/size variants). */
  group: string;
}

export interface RealSource {
  name: string;
  /** Debian package or Python wheel (with version) the files come from. */
  package: string;
  licence: string;
  /** One paragraph for the output folder's README. */
  note: string;
  /** Random crops taken per file besides the whole image (close-ups of large photos). */
  crops: number;
  /** Transparent stamps are flattened onto a background (see build-ood-set.ts). */
  flatten?: boolean;
  /** .pat (GIMP pattern) files rather than ordinary images. */
  gimpPatterns?: boolean;
  files: SourceFile[];
}

const IMAGE = /\.(jpe?g|png|webp|bmp)$/i;

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Downloads (once) and unpacks (once) a Debian package; returns its root and version. */
function debian(cache: string, pkg: string): { root: string; version: string } {
  const debs = join(cache, 'debs');
  mkdirSync(debs, { recursive: true });
  const find = () => readdirSync(debs).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  if (!find()) execFileSync('apt-get', ['download', pkg], { cwd: debs, stdio: ['ignore', 'ignore', 'inherit'] });
  const deb = find();
  if (!deb) throw new Error(`apt-get download ${pkg} left no .deb in ${debs}; run apt-get update first`);
  const root = join(cache, 'pkgs', pkg);
  if (!existsSync(join(root, 'usr'))) {
    mkdirSync(root, { recursive: true });
    execFileSync('dpkg', ['-x', join(debs, deb), root]);
  }
  return { root, version: decodeURIComponent(deb.split('_')[1]) }; // '4%3a5.27' is epoch 4, '4:5.27'
}

/** Downloads (once) a wheel from the local Python index and unpacks its image files; returns their folder and the wheel's name. */
function wheel(cache: string, project: string, inside: RegExp): { root: string; wheelName: string } {
  const dir = join(cache, 'pip');
  mkdirSync(dir, { recursive: true });
  const prefix = project.replace(/-/g, '_');
  const find = () => readdirSync(dir).find((f) => f.startsWith(`${prefix}-`) && f.endsWith('.whl'));
  if (!find()) {
    execFileSync(
      'pip',
      ['download', '--no-deps', '--index-url', process.env.PIP_INDEX_URL ?? 'file:///opt/pypi/simple', project, '-d', dir],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
  }
  const whl = find();
  if (!whl) throw new Error(`pip download ${project} left no wheel in ${dir}`);
  const root = join(cache, 'wheels', whl);
  if (!existsSync(root)) {
    const entries = unzipSync(readFileSync(join(dir, whl)), { filter: (f) => inside.test(f.name) });
    for (const [name, bytes] of Object.entries(entries)) {
      mkdirSync(dirname(join(root, name)), { recursive: true });
      writeFileSync(join(root, name), bytes);
    }
  }
  return { root, wheelName: whl.split('-').slice(0, 2).join('-') };
}

/**
 * Wallpapers: one file per wallpaper and variant (the largest of its resolutions), screenshots and
 * icons left out; the group is the wallpaper, so its light and dark versions share a split.
 */
function wallpapers(root: string): SourceFile[] {
  const candidates = walk(join(root, 'usr/share'))
    .filter((p) => IMAGE.test(p) && /\/(backgrounds|wallpapers|desktop-base)\//.test(p))
    .filter((p) => !/screenshot|\/icons?\/|logo|grub|plymouth|login|lockscreen/i.test(p));
  const best = new Map<string, { path: string; size: number; group: string }>();
  for (const path of candidates) {
    const rel = relative(root, path);
    const kde = rel.match(/\/(?:wallpapers|wallpaper)\/([^/]+)\/contents\/(images[^/]*)\//);
    const theme = rel.match(/desktop-base\/([^/]+)-theme\//);
    const stem = basename(path)
      .replace(IMAGE, '')
      .replace(/[_-]?\d{3,5}x\d{3,5}/, '');
    const group = kde ? kde[1] : theme ? theme[1] : stem.replace(/[_-]?portrait$/i, '').replace(/-[ld]$/, '');
    const variant = kde ? `${kde[1]}/${kde[2]}` : theme ? `${theme[1]}/${dirname(rel).split('/').pop()}` : `${dirname(rel)}/${stem}`;
    const size = statSync(path).size;
    const seen = best.get(variant);
    if (!seen || size > seen.size) best.set(variant, { path, size, group });
  }
  return [...best.values()]
    .sort((a, b) => (a.path < b.path ? -1 : 1))
    .map(({ path, group }) => ({ path, group, origin: relative(root, path) }));
}

const PACKAGE_NOTES: Record<string, { licence: string; note: string }> = {
  'gnome-backgrounds': {
    licence: 'CC-BY-SA-3.0',
    note: "GNOME desktop backgrounds (abstract renders, textures and a few photos), by Jakub Steiner and others, licensed CC BY-SA 3.0 according to the package's copyright file (usr/share/doc/gnome-backgrounds/copyright); redistribution requires attribution and share-alike.",
  },
  'mate-backgrounds': {
    licence: 'GPL-2+ / CC-BY-SA-4.0',
    note: 'MATE desktop backgrounds: nature photographs (flowers, a ladybird, rain drops, wood, dunes) and abstract art, GPL-2+ with two files CC BY-SA 4.0, per usr/share/doc/mate-backgrounds/copyright.',
  },
  'plasma-workspace-wallpapers': {
    licence: 'GPL-2+',
    note: 'KDE Plasma wallpapers (landscape photographs and abstract renders), GPL-2+ per usr/share/doc/plasma-workspace-wallpapers/copyright; each wallpaper keeps its largest resolution, light and dark versions share a split.',
  },
  'ukui-wallpapers': {
    licence: 'CC-BY-SA-3.0',
    note: 'UKUI (Ubuntu Kylin) wallpapers: photographs (city, flowers, goldfish, desert) and abstract art, CC BY-SA 3.0 per usr/share/doc/ukui-wallpapers/copyright.',
  },
  'tuxpaint-stamps-default': {
    licence: 'GPL-2',
    note: 'Tux Paint rubber stamps: photographs and drawings of animals, food, plants, vehicles, buildings, symbols and letters, cut out on transparent backgrounds (flattened here onto a plain background chosen per file), GPL-2 per usr/share/doc/tuxpaint-stamps-default/copyright.',
  },
  'lomiri-wallpapers-16.04': {
    licence: 'CC-BY-SA-3.0 / CC-BY-4.0 / CC0-1.0 (per file)',
    note: 'Wallpapers shipped with Ubuntu Touch 16.04 (Lomiri): landscape, nature and city photographs by community photographers, each file under the Creative Commons licence (CC BY, CC BY-SA or CC0) named in usr/share/doc/lomiri-wallpapers-16.04/copyright.',
  },
  'lomiri-wallpapers-20.04': {
    licence: 'CC-BY-SA-3.0 / CC-BY-4.0 / CC0-1.0 (per file)',
    note: 'Wallpapers shipped with Ubuntu Touch 20.04 (Lomiri): photographs and paintings by community artists, each file under the Creative Commons licence named in usr/share/doc/lomiri-wallpapers-20.04/copyright.',
  },
  'sway-backgrounds': {
    licence: 'CC0-1.0 / MIT',
    note: "The sway window manager's wallpaper (a logo on a plain background) in landscape and portrait layouts, per usr/share/doc/sway-backgrounds/copyright (the wallpapers are free to redistribute).",
  },
  'xfdesktop4-data': {
    licence: 'GPL-2+',
    note: 'Xfce desktop backgrounds (plain colours and stripes), GPL-2+ per usr/share/doc/xfdesktop4-data/copyright.',
  },
  'desktop-base': {
    licence: 'GPL-2+ / GPL-3+ / CC-BY-SA-3.0',
    note: "Debian's own desktop themes (wallpapers of each release: abstract art), GPL-2+, GPL-3+ or CC BY-SA 3.0 per theme, per usr/share/doc/desktop-base/copyright.",
  },
  'gimp-data': {
    licence: 'GPL-3+ and others',
    note: "GIMP's fill patterns: small tileable photographs of textures (fabric, wood, stone, food, water, paper), decoded from GIMP's .pat format and tiled to 384 px; GPL-3+ and compatible licences per usr/share/doc/gimp-data/copyright.",
  },
};

/** Every real source, fetched into `cache` if needed. */
export function realSources(cache: string, pretrainedCheck: string): RealSource[] {
  const sources: RealSource[] = [];
  for (const pkg of [
    'gnome-backgrounds',
    'mate-backgrounds',
    'plasma-workspace-wallpapers',
    'ukui-wallpapers',
    'lomiri-wallpapers-16.04',
    'lomiri-wallpapers-20.04',
    'sway-backgrounds',
    'xfdesktop4-data',
    'desktop-base',
  ]) {
    const { root, version } = debian(cache, pkg);
    sources.push({ name: pkg, package: `${pkg} ${version} (Debian)`, ...PACKAGE_NOTES[pkg], crops: 4, files: wallpapers(root) });
  }
  {
    const pkg = 'tuxpaint-stamps-default';
    const { root, version } = debian(cache, pkg);
    const files = walk(join(root, 'usr/share/tuxpaint/stamps'))
      .filter((p) => /\.png$/i.test(p) && !/_thumb|-thumb/.test(p))
      .map((path) => ({
        path,
        origin: relative(root, path),
        group: relative(root, path).replace(/(_(?:back|front|left|right|\d+))?\.png$/i, ''),
      }));
    sources.push({ name: pkg, package: `${pkg} ${version} (Debian)`, ...PACKAGE_NOTES[pkg], crops: 0, flatten: true, files });
  }
  {
    const pkg = 'gimp-data';
    const { root, version } = debian(cache, pkg);
    const files = walk(join(root, 'usr/share/gimp/2.0/patterns'))
      .filter((p) => p.endsWith('.pat'))
      .map((path) => ({ path, origin: relative(root, path), group: basename(path) }));
    sources.push({
      name: 'gimp-patterns',
      package: `${pkg} ${version} (Debian)`,
      ...PACKAGE_NOTES[pkg],
      crops: 0,
      gimpPatterns: true,
      files,
    });
  }
  {
    const { root, wheelName } = wheel(cache, 'scikit-image', /^skimage\/data\/[^/]+\.(png|jpg)$/);
    // Sample images of every kind: portraits (astronaut), a cat, coffee, coins, text, a page, cells, a retina.
    const files = walk(root)
      .filter((p) => IMAGE.test(p) && !/chessboard|phantom/.test(p))
      .map((path) => ({ path, origin: relative(root, path), group: basename(path).replace(/_(left|right)/, '') }));
    sources.push({
      name: 'scikit-image',
      package: `${wheelName} (PyPI wheel)`,
      licence: 'BSD-3-Clause and per image (CC0 / public domain / CC BY)',
      crops: 3,
      files,
      note: "scikit-image's bundled sample images (skimage/data): an astronaut portrait, a cat, coffee, coins, a camera man, text, a scanned page, a rocket, motorcycles, and microscopy and retina images (medical, but not dermoscopy). The package is BSD-3-Clause (dist-info/LICENSE.txt); each image's source and licence is stated in the docstring of its loader in skimage/data/_fetchers.py (NASA images public domain, most others CC0 or public domain).",
    });
  }
  {
    const { root, wheelName } = wheel(cache, 'scikit-learn', /^sklearn\/datasets\/images\/[^/]+\.jpg$/);
    sources.push({
      name: 'scikit-learn',
      package: `${wheelName} (PyPI wheel)`,
      licence: 'CC BY 2.0 (photos, per sklearn/datasets/images/README.txt)',
      crops: 3,
      files: walk(root)
        .filter((p) => IMAGE.test(p))
        .map((path) => ({ path, origin: relative(root, path), group: basename(path) })),
      note: "scikit-learn's two sample photographs (china.jpg: a temple; flower.jpg: a flower close-up), from Flickr under CC BY 2.0 as stated in the wheel's sklearn/datasets/images/README.txt.",
    });
  }
  {
    const pkg = 'opencv-doc';
    const { root, version } = debian(cache, pkg);
    // Stereo pairs, calibration shots and before/after pairs of one scene share a group.
    const group = (path: string) =>
      basename(path)
        .replace(IMAGE, '')
        .replace(/^(left|right)(\d+)$/, 'calibration$2')
        .replace(/^(left|right)$/, 'stereo')
        .replace(/_(modified|original|in_scene|tmpl|cls)$/, '')
        .replace(/([a-z])[LRAB]$/, '$1')
        .replace(/\d+$/, '');
    const files = walk(join(root, 'usr/share/doc/opencv-doc/examples/data'))
      .filter((p) => IMAGE.test(p))
      .map((path) => ({ path, origin: relative(root, path), group: group(path) }));
    sources.push({
      name: 'opencv-samples',
      package: `${pkg} ${version} (Debian)`,
      licence: 'Apache-2.0 AND BSD-3-Clause (per usr/share/doc/opencv-doc/copyright)',
      crops: 2,
      files,
      note: "OpenCV's sample images (usr/share/doc/opencv-doc/examples/data): people (a football player), fruit, a baboon, a butterfly, a fish, a squirrel, buildings, a starry-night painting, chessboard calibration shots, text, logos and drawings. Debian's copyright file gives Apache-2.0 AND BSD-3-Clause for the tree they ship in; Debian removed the images it could not clear (Lena).",
    });
  }
  {
    const { root, wheelName } = wheel(cache, 'matplotlib', /^matplotlib\/mpl-data\/sample_data\/[^/]+\.(png|jpg)$/);
    sources.push({
      name: 'matplotlib-samples',
      package: `${wheelName} (PyPI wheel)`,
      licence: 'matplotlib licence (PSF-style); grace_hopper.jpg public domain (US Navy)',
      crops: 3,
      files: walk(root)
        .filter((p) => IMAGE.test(p))
        .map((path) => ({ path, origin: relative(root, path), group: basename(path) })),
      note: "matplotlib's sample data images: the portrait of Grace Hopper (US Navy photograph, public domain), a product box photo and the matplotlib logo; the package is under the matplotlib (PSF-based) licence.",
    });
  }
  if (existsSync(pretrainedCheck)) {
    sources.push({
      name: 'imagenet-check-photos',
      package: '../shared/pretrained/mobilenet_v2_imagenet/check',
      licence: 'Apache-2.0 (google-coral/test_data, per ../shared/pretrained/mobilenet_v2_imagenet/README.md)',
      crops: 3,
      files: walk(pretrainedCheck)
        .filter((p) => IMAGE.test(p))
        .map((path) => ({ path, origin: basename(path), group: basename(path).replace(/_\d+p|\.\w+$/g, '') })),
      note: 'The photographs the team uses to check the pretrained MobileNetV2 (a bird, cats, a dragonfly, a hot dog, a kite, an owl, a parrot, a sunflower), from the shared folder: they come from the google-coral/test_data repository under Apache-2.0, as its README.md records (LICENSE beside it).',
    });
  }
  return sources;
}

/** GIMP .pat: a big-endian header (size, version, width, height, bytes per pixel, 'GPAT', name) and raw pixels. */
export function decodeGimpPattern(bytes: Buffer): { data: Buffer; width: number; height: number; channels: 1 | 2 | 3 | 4 } {
  const headerSize = bytes.readUInt32BE(0);
  const width = bytes.readUInt32BE(8);
  const height = bytes.readUInt32BE(12);
  const channels = bytes.readUInt32BE(16) as 1 | 2 | 3 | 4;
  if (bytes.toString('ascii', 20, 24) !== 'GPAT' || channels < 1 || channels > 4) throw new Error('not a GIMP pattern');
  return { data: bytes.subarray(headerSize, headerSize + width * height * channels), width, height, channels };
}
