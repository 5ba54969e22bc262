import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostOf, originPattern, originsBeyondActiveTab, unsupportedUrlMessage } from '../../extension/background/urls.ts';

test('origin patterns are per host, scheme kept, port and path dropped', () => {
  assert.equal(originPattern('https://cdn.example.com:8443/a/b.jpg?x=1'), 'https://cdn.example.com/*');
  assert.equal(originPattern('http://127.0.0.1:3000/img.png'), 'http://127.0.0.1/*');
  assert.equal(originPattern('data:image/png;base64,AAAA'), null);
  assert.equal(originPattern('blob:https://example.com/123'), null);
  assert.equal(originPattern('not a url'), null);
});

test('activeTab covers the page\'s own host; other hosts are requested, deduplicated', () => {
  const page = 'https://news.example.org/article';
  assert.deepEqual(originsBeyondActiveTab('https://news.example.org/pic.jpg', page), []);
  assert.deepEqual(originsBeyondActiveTab('https://news.example.org:444/pic.jpg', page), [], 'same host, other port: patterns ignore ports');
  assert.deepEqual(originsBeyondActiveTab('https://cdn.example.net/pic.jpg', page), ['https://cdn.example.net/*']);
  assert.deepEqual(originsBeyondActiveTab('http://news.example.org/pic.jpg', page), ['http://news.example.org/*'], 'scheme matters');
  assert.deepEqual(originsBeyondActiveTab('data:image/png;base64,AA', page), []);
  assert.deepEqual(originsBeyondActiveTab('blob:https://news.example.org/1', page), []);
  assert.deepEqual(originsBeyondActiveTab('https://cdn.example.net/a.jpg', page, 'https://cdn.example.net/frame.html'), ['https://cdn.example.net/*']);
  assert.deepEqual(originsBeyondActiveTab('https://img.example.net/a.jpg', page, 'https://widget.example.com/frame.html'),
    ['https://img.example.net/*', 'https://widget.example.com/*']);
  assert.deepEqual(originsBeyondActiveTab('https://cdn.example.net/a.jpg', undefined), ['https://cdn.example.net/*']);
});

test('URL schemes DermLens cannot read get a message; http(s), data: and blob: are fine', () => {
  for (const url of ['https://a.b/c.png', 'http://a.b/c.png', 'data:image/png;base64,AA', 'blob:https://a.b/1']) {
    assert.equal(unsupportedUrlMessage(url), null, url);
  }
  assert.match(unsupportedUrlMessage('file:///home/me/mole.jpg')!, /cannot read local files.*upload the file/);
  assert.equal(unsupportedUrlMessage('chrome://favicon/x'), 'DermLens cannot read images from "chrome:" addresses. Save the image and upload it in the DermLens popup.');
  assert.equal(hostOf('https://cdn.example.net:81/x'), 'cdn.example.net');
});
