// What markdown-it makes of fields (markdown.js): markup typed into a field stays text, only http(s) and
// mailto links are made, no image. The DOMPurify layer needs a DOM: tests/browser/test_markdown.py checks it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { markdownHtml } from '../src/markdown.js'

const HOSTILE = [
  '<img src=x onerror="window.__pwned=1">',
  '<script>window.__pwned=1</script>',
  '"><svg onload=window.__pwned=1>',
  '<a href="javascript:alert(1)">x</a>',
  '<iframe src="https://example.com"></iframe>'
]

test('markdown styles render as their tags', () => {
  assert.equal(markdownHtml('**bold** and _italic_'), '<p><strong>bold</strong> and <em>italic</em></p>\n')
  assert.equal(markdownHtml('- one\n- two'), '<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n')
})

test("a field's headings go two levels down, under the page's own", () => {
  assert.equal(markdownHtml('# Title'), '<h3>Title</h3>\n')
  assert.equal(markdownHtml('### Small'), '<h5>Small</h5>\n')
  assert.equal(markdownHtml('###### Smallest'), '<h6>Smallest</h6>\n')
})

test('HTML typed into a field stays text', () => {
  for (const input of HOSTILE) {
    const html = markdownHtml(input)
    // Only the paragraph, and a linkified https address, are tags.
    assert.doesNotMatch(html, /<(?!\/?p>|a href="https:\/\/|\/a>)/, `${input} made a tag: ${html}`)
    assert.match(html, /&lt;/)
  }
})

test('links only to http, https and mailto', () => {
  assert.equal(markdownHtml('[site](https://example.com)'), '<p><a href="https://example.com">site</a></p>\n')
  assert.equal(markdownHtml('[mail](mailto:ann@example.com)'), '<p><a href="mailto:ann@example.com">mail</a></p>\n')
  for (const url of ['javascript:window.__pwned=1', 'JaVaScRiPt:alert(1)', ' javascript:alert(1)', 'vbscript:x',
    'data:text/html,<script>alert(1)</script>', 'file:///etc/passwd', '/relative', '//example.com']) {
    assert.doesNotMatch(markdownHtml(`[x](${url})`), /<a /, url)
  }
})

test('bare addresses become links (linkify)', () => {
  assert.equal(markdownHtml('see https://example.com'),
    '<p>see <a href="https://example.com">https://example.com</a></p>\n')
})

test('no image is ever made, not even from https', () => {
  assert.doesNotMatch(markdownHtml('![pic](https://example.com/a.png)'), /<img/)
  assert.doesNotMatch(markdownHtml('![pic](data:image/png;base64,AAAA)'), /<img/)
})
