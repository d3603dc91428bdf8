#!/usr/bin/env python3
"""Reads the status page's HTML on stdin and parses it with html.parser.
Checks: tags balanced (void elements aside), no <script>, no external
src/href (only #anchors), no inline event handlers. Prints one JSON object:
{"errors": [...], "title", "h1": [...], "h2": [{"id", "text"}], "tables":
[[[cell text, ...] per row] per table], "contexts": [{"h2", "h3"} per table,
the headings it comes under], "anchors": [...], "ids": [...],
"text"}; exits 1 when there are errors."""
import json
import sys
from html.parser import HTMLParser

VOID = {'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link',
        'meta', 'source', 'track', 'wbr'}


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.errors = []
        self.stack = []
        self.title = ''
        self.h1 = []
        self.h2 = []
        self.tables = []
        self.contexts = []
        self._h2 = None
        self._h3 = None
        self.anchors = []
        self.ids = []
        self.text = []
        self._cap = None
        self._cell = None
        self._row = None
        self.doctype = False

    def handle_decl(self, decl):
        if decl.lower() == 'doctype html':
            self.doctype = True

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'script':
            self.errors.append('a <script> element')
        for k, v in attrs:
            if k.startswith('on'):
                self.errors.append('inline handler %s on <%s>' % (k, tag))
            if k in ('src', 'href', 'action', 'srcset', 'data', 'poster') and not (v or '').startswith('#'):
                self.errors.append('<%s %s=%r>: not an #anchor' % (tag, k, v))
            if k == 'style' and 'url(' in (v or ''):
                self.errors.append('<%s style> with url()' % tag)
            if k == 'id':
                self.ids.append(v)
        if tag == 'a' and 'href' in a:
            self.anchors.append(a['href'])
        if tag in VOID:
            return
        self.stack.append(tag)
        if tag in ('title', 'h1', 'h2', 'h3'):
            self._cap = [tag, a.get('id'), '']
        elif tag == 'table':
            self.tables.append([])
            self.contexts.append({'h2': self._h2, 'h3': self._h3})
        elif tag == 'tr' and self.tables:
            self._row = []
            self.tables[-1].append(self._row)
        elif tag in ('td', 'th') and self._row is not None:
            self._cell = ''

    def handle_startendtag(self, tag, attrs):
        if tag not in VOID:
            self.errors.append('self-closed non-void <%s/>' % tag)
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            self.errors.append('end tag for void element </%s>' % tag)
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append('</%s> does not close the open <%s>' % (tag, self.stack[-1] if self.stack else '-'))
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        if self._cap and self._cap[0] == tag:
            kind, ident, text = self._cap
            text = ' '.join(text.split())
            if kind == 'title':
                self.title = text
            elif kind == 'h1':
                self.h1.append(text)
            elif kind == 'h2':
                self.h2.append({'id': ident, 'text': text})
                self._h2, self._h3 = text, None
            else:
                self._h3 = text
            self._cap = None
        elif tag in ('td', 'th') and self._cell is not None:
            self._row.append(' '.join(self._cell.split()))
            self._cell = None
        elif tag == 'tr':
            self._row = None

    def handle_data(self, data):
        if self.stack and self.stack[-1] == 'style':
            if 'url(' in data or '@import' in data:
                self.errors.append('external content in <style>')
            return
        self.text.append(data)
        if self._cap:
            self._cap[2] += data
        if self._cell is not None:
            self._cell += data


src = sys.stdin.read()
p = Page()
p.feed(src)
p.close()
if p.stack:
    p.errors.append('unclosed at the end: %s' % ' '.join(p.stack))
if not p.doctype:
    p.errors.append('no <!DOCTYPE html>')
print(json.dumps({'errors': p.errors, 'title': p.title, 'h1': p.h1, 'h2': p.h2,
                  'tables': p.tables, 'contexts': p.contexts, 'anchors': p.anchors, 'ids': p.ids,
                  'text': ' '.join(' '.join(p.text).split())}))
sys.exit(1 if p.errors else 0)
