import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addressOf,
  blockedImageMessage,
  hostOf,
  originPattern,
  originsBeyondActiveTab,
  sameOrigin,
  unsupportedUrlMessage,
} from '../../extension/background/urls.ts';

test('origin patterns are per host, scheme kept, port and path dropped', () => {
  assert.equal(originPattern('https://cdn.example.com:8443/a/b.jpg?x=1'), 'https://cdn.example.com/*');
  assert.equal(originPattern('http://127.0.0.1:3000/img.png'), 'http://127.0.0.1/*');
  assert.equal(originPattern('data:image/png;base64,AAAA'), null);
  assert.equal(originPattern('blob:https://example.com/123'), null);
  assert.equal(originPattern('not a url'), null);
});

test('origins compare scheme, host and port', () => {
  assert.equal(sameOrigin('https://a.example/x.png', 'https://a.example:443/page'), true, 'default port');
  assert.equal(sameOrigin('http://127.0.0.1:3000/x.png', 'http://127.0.0.1:3001/'), false);
  assert.equal(sameOrigin('http://a.example/x.png', 'https://a.example/'), false);
  assert.equal(sameOrigin('data:image/png;base64,AA', 'data:image/png;base64,AA'), false, 'opaque origins are never the same');
  assert.equal(sameOrigin('https://a.example/x.png', undefined), false);
  assert.equal(addressOf('http://127.0.0.1:3000/x.png'), '127.0.0.1:3000');
  assert.equal(addressOf('https://cdn.example.net/x.png'), 'cdn.example.net');
});

test("activeTab covers exactly the page's origin; other origins are requested by host, deduplicated", () => {
  const page = 'https://news.example.org/article';
  assert.deepEqual(originsBeyondActiveTab('https://news.example.org/pic.jpg', page), []);
  assert.deepEqual(originsBeyondActiveTab('https://news.example.org:443/pic.jpg', page), [], 'the default port is the same origin');
  assert.deepEqual(
    originsBeyondActiveTab('https://news.example.org:444/pic.jpg', page),
    ['https://news.example.org/*'],
    'same host, other port: activeTab does not cover it, and the host pattern (every port) is asked for',
  );
  assert.deepEqual(originsBeyondActiveTab('http://127.0.0.1:8081/a.jpg', 'http://127.0.0.1:8080/page.html'), ['http://127.0.0.1/*']);
  assert.deepEqual(
    originsBeyondActiveTab('http://127.0.0.1:8080/a.jpg', 'http://127.0.0.1:8080/page.html', 'http://127.0.0.1:8082/f.html'),
    ['http://127.0.0.1/*'],
    'a frame on another port of the same host',
  );
  assert.deepEqual(originsBeyondActiveTab('https://cdn.example.net/pic.jpg', page), ['https://cdn.example.net/*']);
  assert.deepEqual(originsBeyondActiveTab('http://news.example.org/pic.jpg', page), ['http://news.example.org/*'], 'scheme matters');
  assert.deepEqual(originsBeyondActiveTab('data:image/png;base64,AA', page), []);
  assert.deepEqual(originsBeyondActiveTab('blob:https://news.example.org/1', page), []);
  assert.deepEqual(originsBeyondActiveTab('https://cdn.example.net/a.jpg', page, 'https://cdn.example.net/frame.html'), [
    'https://cdn.example.net/*',
  ]);
  assert.deepEqual(originsBeyondActiveTab('https://img.example.net/a.jpg', page, 'https://widget.example.com/frame.html'), [
    'https://img.example.net/*',
    'https://widget.example.com/*',
  ]);
  assert.deepEqual(originsBeyondActiveTab('https://cdn.example.net/a.jpg', undefined), ['https://cdn.example.net/*']);
});

test('URL schemes DermLens cannot read get a message; http(s), data: and blob: are fine', () => {
  for (const url of ['https://a.b/c.png', 'http://a.b/c.png', 'data:image/png;base64,AA', 'blob:https://a.b/1']) {
    assert.equal(unsupportedUrlMessage(url), null, url);
  }
  assert.match(unsupportedUrlMessage('file:///home/me/mole.jpg')!, /cannot read local files.*upload the file/);
  assert.equal(
    unsupportedUrlMessage('chrome://favicon/x'),
    'DermLens cannot read images from "chrome:" addresses. Save the image and upload it in the DermLens popup.',
  );
  assert.equal(hostOf('https://cdn.example.net:81/x'), 'cdn.example.net');
});

test('a blocked image gets the message that fits what DermLens holds and what the click asked', () => {
  const page = 'http://127.0.0.1:8080/page.html';
  const otherPort = 'http://127.0.0.1:8081/lesion.jpg';
  const cdn = 'https://cdn.example.net/lesion.jpg';

  // Access is there (granted host, a yes to this click's prompt, or the page's own origin): not an access problem.
  for (const facts of [
    { srcUrl: cdn, pageUrl: page, hostGranted: true },
    { srcUrl: cdn, pageUrl: page, hostGranted: false, answer: { kind: 'granted' as const } },
    { srcUrl: 'http://127.0.0.1:8080/lesion.jpg', pageUrl: page, hostGranted: false },
  ]) {
    const message = blockedImageMessage(facts);
    assert.match(
      message,
      /^DermLens may read images from (cdn\.example\.net|127\.0\.0\.1:8080), but the download failed/,
      JSON.stringify(facts),
    );
    assert.doesNotMatch(message, /no access|asks once|did not allow/);
  }

  assert.equal(
    blockedImageMessage({ srcUrl: otherPort, pageUrl: page, hostGranted: false, answer: { kind: 'denied' } }),
    'You did not allow DermLens to read images from 127.0.0.1, and 127.0.0.1:8081 does not let other pages read them. ' +
      'Right-click the image and choose "Classify skin lesion" again to be asked once more, or save the image and upload it in the DermLens popup.',
  );

  assert.equal(
    blockedImageMessage({
      srcUrl: cdn,
      pageUrl: page,
      hostGranted: false,
      answer: { kind: 'not-asked', reason: 'This function must be called during a user gesture.' },
    }),
    'Chrome did not ask you whether DermLens may read images from cdn.example.net (This function must be called during a user gesture). ' +
      'Right-click the image and choose "Classify skin lesion" again, or save the image and upload it in the DermLens popup.',
  );

  // Nothing asked in this request (an overlay re-send): a click will ask, since the origin is not the page's.
  assert.equal(
    blockedImageMessage({ srcUrl: otherPort, pageUrl: page, hostGranted: false }),
    'DermLens has no access to 127.0.0.1:8081, where this image is stored (the page is on 127.0.0.1:8080: another port is another site, ' +
      'which the access given for this page does not cover). Right-click the image and choose "Classify skin lesion": Chrome then asks once ' +
      'whether DermLens may read images from 127.0.0.1; or save the image and upload it in the DermLens popup.',
  );
  assert.equal(
    blockedImageMessage({ srcUrl: cdn, pageUrl: undefined, hostGranted: false }),
    'DermLens has no access to cdn.example.net, where this image is stored. Right-click the image and choose "Classify skin lesion": ' +
      'Chrome then asks once whether DermLens may read images from cdn.example.net; or save the image and upload it in the DermLens popup.',
  );
});

test('in Firefox the messages name Firefox, which asks or did not ask', () => {
  const cdn = 'https://cdn.example.net/lesion.jpg';
  assert.match(
    blockedImageMessage({ srcUrl: cdn, pageUrl: undefined, hostGranted: false, browser: 'Firefox' }),
    /: Firefox then asks once whether DermLens may read images from cdn\.example\.net;/,
  );
  assert.match(
    blockedImageMessage({ srcUrl: cdn, hostGranted: false, answer: { kind: 'not-asked', reason: 'x' }, browser: 'Firefox' }),
    /^Firefox did not ask you whether/,
  );
});
