#!/usr/bin/env python3
# check-web.py: static checks of the parents' page (server/web/), as a TAP test
#
# The page must work offline from the server alone (no external resources) in old embedded
# browsers such as WeChat's (ES2017 at most), and every element the script looks up must exist.
#
# SPDX-License-Identifier: GPL-3.0-or-later
import os
import json
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

web = sys.argv[1]
results = []


def check(name, ok, detail=''):
    results.append((name, ok, detail))


def read(name):
    with open(os.path.join(web, name), encoding='utf-8') as f:
        return f.read()


html = read('index.html')
js = read('app.js')
qr = read('qr.js')
css = read('app.css')

# 1. The GResource manifest lists exactly the page's files, and compiles.
tree = ET.parse(os.path.join(web, 'lingka-web.gresource.xml'))
resource = tree.getroot().find('gresource')
files = sorted(f.text for f in resource.findall('file'))
check('gresource prefix is /cn/lingka/web', resource.get('prefix') == '/cn/lingka/web')
check('gresource lists the page files', files == ['app.css', 'app.js', 'index.html', 'qr.js'],
      str(files))
with tempfile.TemporaryDirectory() as tmp:
    rc = subprocess.run(['glib-compile-resources', '--sourcedir', web,
                         '--target', os.path.join(tmp, 'web.gresource'),
                         os.path.join(web, 'lingka-web.gresource.xml')],
                        capture_output=True, text=True)
    check('gresource compiles', rc.returncode == 0, rc.stderr.strip())

# 2. No external resources: everything comes from the server itself.
external = re.findall(r'''(?:src|href)\s*=\s*["'](?:https?:)?//[^"']*''', html)
external += re.findall(r'url\(\s*["\']?(?:https?:)?//', css)
external += re.findall(r'''(?:import|fetch)\s*\(\s*["'](?:https?:)?//''', js)
check('no external resources', not external, str(external))
check('no inline script (the server sends a strict CSP)',
      not re.search(r'<script(?![^>]*\bsrc=)[^>]*>', html) and
      not re.search(r'<[^>]*\son[a-z]+\s*=', html) and not re.search(r'\sstyle\s*=', html))
check('scripts and style are linked',
      html.find('src="qr.js"') >= 0 and html.find('src="qr.js"') < html.find('src="app.js"') and
      'href="app.css"' in html)

# 3. ES2017 at most: no optional chaining, nullish coalescing, object spread/rest,
#    class fields or regexp lookbehind.
code = re.sub(r'/\*.*?\*/', '', js + qr, flags=re.S)
code = re.sub(r"'(?:[^'\\\n]|\\.)*'", "''", code)
too_new = []
for pattern, what in [(r'\?\.(?!\d)', 'optional chaining'), (r'\?\?', 'nullish coalescing'),
                      (r'\{\s*\.\.\.', 'object spread'), (r',\s*\.\.\.\w+\s*\}', 'object rest'),
                      (r'\(\?<[=!]', 'regexp lookbehind'), (r'^\s+#\w+', 'private fields'),
                      (r'\bcatch\s*\{', 'optional catch binding')]:
    if re.search(pattern, code, flags=re.M):
        too_new.append(what)
check('ES2017 syntax only', not too_new, ', '.join(too_new))
if os.path.exists('/usr/bin/node'):
    for name in ('app.js', 'qr.js'):
        rc = subprocess.run(['node', '--check', os.path.join(web, name)], capture_output=True,
                            text=True)
        check(name + ' parses', rc.returncode == 0, rc.stderr.strip())

# 3b. The QR encoder's output decodes (needs node and zbarimg; skipped without them).
if shutil.which('node') and shutil.which('zbarimg'):
    samples = ['weixin://wxpay/bizpayurl?pr=AbCdEf123',
               'https://qr.alipay.com/bax01234abcdefghijklmnopqrstuvwxyz5678',
               '领卡 http://127.0.0.1:8080/api/v1/sandbox/pay/ORDER-0001', 'y' * 200]
    script = '''
global.window = {};
require(%s);
const fs = require('fs');
const texts = JSON.parse(process.argv[1]);
texts.forEach((t, n) => {
  const qr = window.LingkaQr.encode(t);
  const s = 4, total = (qr.size + 8) * s;
  let out = 'P1\\n' + total + ' ' + total + '\\n';
  for (let y = 0; y < total; y++) {
    const row = [];
    for (let x = 0; x < total; x++) {
      const mx = Math.floor(x / s) - 4, my = Math.floor(y / s) - 4;
      row.push(mx >= 0 && my >= 0 && mx < qr.size && my < qr.size && qr.modules[my][mx] ? 1 : 0);
    }
    out += row.join(' ') + '\\n';
  }
  fs.writeFileSync(process.argv[2] + '/qr' + n + '.pbm', out);
});
if (window.LingkaQr.encode('z'.repeat(300)) !== null) process.exit(3);
''' % json.dumps(os.path.join(os.path.abspath(web), 'qr.js'))
    with tempfile.TemporaryDirectory() as tmp:
        rc = subprocess.run(['node', '-e', script, json.dumps(samples), tmp], capture_output=True,
                            text=True)
        check('qr.js encodes, and refuses text that does not fit', rc.returncode == 0,
              rc.stderr.strip())
        for n, text in enumerate(samples):
            out = subprocess.run(['zbarimg', '-q', '--raw', os.path.join(tmp, 'qr%d.pbm' % n)],
                                 capture_output=True)
            decoded = out.stdout.decode('utf-8', 'replace').rstrip('\n')
            check('QR code %d decodes to its text' % n, decoded == text, decoded[:80])

# 4. Every element the script looks up by id exists in the page, exactly once.
ids = re.findall(r'''\bid="([^"]+)"''', html)
duplicates = sorted({i for i in ids if ids.count(i) > 1})
check('element ids are unique', not duplicates, str(duplicates))
wanted = set(re.findall(r'''\$\('([A-Za-z0-9_-]+)'\)''', js))
wanted |= {f + '-error' for f in re.findall(r"'(province|school|class|name|student_no|phone|consent)'", js)}
missing = sorted(w for w in wanted if w not in ids)
check('every id the script uses exists', not missing, str(missing))

# 5. The copy: zh_CN, the pickers in order, the mismatch message, the patent's sentence.
order = [html.find('id="province"'), html.find('id="school"'), html.find('id="class"'),
         html.find('id="name"'), html.find('id="student_no"'), html.find('id="phone"'),
         html.find('id="consent"')]
check('fields in the order 省份 → 学校 → 班级 → 姓名 → 学号 → 手机号 → 同意',
      all(a >= 0 for a in order) and order == sorted(order), str(order))
check('lang is zh-CN', '<html lang="zh-CN">' in html)
check('mismatch message for the name', '学生姓名与学校登记信息不一致，请核对' in js)
check('the patent sentence "IC卡已完成发卡"', 'IC卡已完成发卡' in html)
check('status steps 已支付 → 可领取 → 已领卡',
      html.find('已支付') < html.find('可领取') < html.find('已领卡'))
check('sandbox payment button', '沙箱支付' in html and "'sandbox'" in js)
check('session kept in sessionStorage', 'sessionStorage' in js and 'localStorage' not in js)
check('events over WebSocket', "'/events?token='" in js)

print('TAP version 13')
print('1..%d' % len(results))
failed = 0
for n, (name, ok, detail) in enumerate(results, 1):
    print('%s %d - %s' % ('ok' if ok else 'not ok', n, name))
    if not ok:
        failed += 1
        if detail:
            print('  # ' + detail)
sys.exit(1 if failed else 0)
