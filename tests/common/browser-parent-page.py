#!/usr/bin/env python3
# browser-parent-page.py: the parents' page in a real browser against a real lingka-server
#
# Starts `lingka-server --sandbox` on a fresh data directory, imports a small roster through the
# REST API (import frame, echo, commit), registers a kiosk, and drives headless Chromium over
# the DevTools protocol through the whole parents' flow:
#   pickers → a name mismatch shown under the field → verified → sandbox payment →
#   the claim code in 2 groups → a reload resumes → a kiosk takes the card over its WebSocket →
#   the page shows 已领卡 live.
# Prints TAP. Skips when Chromium or python3-websocket is not installed.
# With --screenshots DIR it also saves the code screen (parent-page.png), the form with a
# mismatch under the name (parent-page-form.png) and the payment screen (parent-page-pay.png),
# as in docs/screenshots/.
#
# SPDX-License-Identifier: GPL-3.0-or-later
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

DEADLINE_S = 20

results = []


def tap_skip(reason):
    print('TAP version 13')
    print('1..0 # SKIP ' + reason)
    sys.exit(0)


try:
    import websocket  # python3-websocket
except ImportError:
    tap_skip('python3-websocket is not installed')

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome')
if CHROMIUM is None:
    tap_skip('chromium is not installed')

server_bin = sys.argv[1]
screenshots = None
if '--screenshots' in sys.argv:
    screenshots = sys.argv[sys.argv.index('--screenshots') + 1]


def check(name, ok, detail=''):
    results.append((name, bool(ok), detail))
    return ok


def finish():
    print('TAP version 13')
    print('1..%d' % len(results))
    failed = 0
    for n, (name, ok, detail) in enumerate(results, 1):
        print('%s %d - %s' % ('ok' if ok else 'not ok', n, name))
        if not ok:
            failed += 1
            for line in str(detail).splitlines():
                print('  # ' + line)
    return 1 if failed else 0


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_for(what, predicate, deadline_s=DEADLINE_S):
    """Polls predicate until it returns a true value or the deadline passes."""
    end = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < end:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:  # not ready yet
            last = e
        time.sleep(0.05)
    raise TimeoutError('%s: gave up after %d s (last: %r)' % (what, deadline_s, last))


class Api:
    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, token=None, content_type='application/json'):
        data = None
        headers = {'Accept': 'application/json'}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers['Content-Type'] = content_type
        if token:
            headers['Authorization'] = 'Bearer ' + token
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b'null')
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b'null')


def canonical_json(rows):
    """The canonical JSON of lk_import_rows_canonical_json (docs/protocol.md 5.4)."""
    def string(s):
        out = '"'
        for ch in s:
            if ch == '"':
                out += '\\"'
            elif ch == '\\':
                out += '\\\\'
            elif ch in '\b\f\n\r\t':
                out += {'\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t'}[ch]
            elif ord(ch) < 0x20:
                out += '\\u%04x' % ord(ch)
            else:
                out += ch
        return out + '"'
    parts = []
    for r in sorted(rows, key=lambda r: r['seq']):
        fields = ['"seq":%d' % r['seq']]
        for k in ('province', 'school', 'class', 'name', 'student_no', 'card_no'):
            fields.append('"%s":%s' % (k, 'null' if r[k] is None else string(r[k])))
        parts.append('{' + ','.join(fields) + '}')
    return '[' + ','.join(parts) + ']'


class Browser:
    def __init__(self, tmp):
        port = free_port()
        self.proc = subprocess.Popen(
            [CHROMIUM, '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
             '--disable-extensions', '--hide-scrollbars', '--user-data-dir=' + os.path.join(tmp, 'chromium'),
             '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=%d' % port,
             '--window-size=414,896', 'about:blank'],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def page_target():
            with urllib.request.urlopen('http://127.0.0.1:%d/json/list' % port, timeout=2) as r:
                for t in json.loads(r.read()):
                    if t.get('type') == 'page':
                        return t['webSocketDebuggerUrl']
            return None
        self.ws = None
        try:
            # A cold start of Chromium on a busy 2-core machine can take a while.
            url = wait_for('chromium DevTools', page_target, 60)
            self.ws = websocket.create_connection(url, timeout=DEADLINE_S, suppress_origin=True)
        except Exception:
            self.close()
            raise
        self.next_id = 0
        self.send('Page.enable')
        self.send('Runtime.enable')
        self.send('Emulation.setDeviceMetricsOverride',
                  {'width': 414, 'height': 896, 'deviceScaleFactor': 2, 'mobile': True})

    def send(self, method, params=None):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({'id': my_id, 'method': method, 'params': params or {}}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get('id') == my_id:
                if 'error' in msg:
                    raise RuntimeError('%s: %s' % (method, msg['error']))
                return msg.get('result', {})

    def js(self, expression):
        result = self.send('Runtime.evaluate', {'expression': expression, 'returnByValue': True,
                                                'awaitPromise': True})
        if 'exceptionDetails' in result:
            raise RuntimeError('JS: %s' % result['exceptionDetails'])
        return result['result'].get('value')

    def navigate(self, url):
        self.send('Page.navigate', {'url': url})
        wait_for('page load of ' + url,
                 lambda: self.js('document.readyState') == 'complete' and
                 self.js('location.href') == url)

    def wait_js(self, what, expression, deadline_s=DEADLINE_S):
        return wait_for(what, lambda: self.js(expression), deadline_s)

    def screenshot(self, path):
        data = self.send('Page.captureScreenshot', {'format': 'png'})['data']
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            if self.ws is not None:
                self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def set_select(browser, element_id, value):
    browser.wait_js('option %s in #%s' % (value, element_id),
                    'Array.from(document.getElementById(%s).options).some(o => o.value === %s) && '
                    '!document.getElementById(%s).disabled'
                    % (json.dumps(element_id), json.dumps(value), json.dumps(element_id)))
    browser.js('(() => { const s = document.getElementById(%s); s.value = %s; '
               's.dispatchEvent(new Event("change")); })()' % (json.dumps(element_id), json.dumps(value)))


def set_input(browser, element_id, value):
    browser.js('(() => { const i = document.getElementById(%s); i.value = %s; '
               'i.dispatchEvent(new Event("input")); })()' % (json.dumps(element_id), json.dumps(value)))


def text_of(browser, element_id):
    return browser.js('document.getElementById(%s).textContent.trim()' % json.dumps(element_id))


def visible(browser, element_id):
    return browser.js('(() => { const e = document.getElementById(%s); '
                      'return !!e && !e.closest("[hidden]") && e.offsetParent !== null; })()'
                      % json.dumps(element_id))


def main():
    tmp = tempfile.mkdtemp(prefix='lingka-browser-')
    data_dir = os.path.join(tmp, 'server')
    server = None
    browser = None
    try:
        def run(args, stdin=None):
            out = subprocess.run([server_bin, '--data-dir', data_dir] + args, input=stdin,
                                 capture_output=True, text=True, timeout=30)
            if out.returncode != 0:
                raise RuntimeError('%s: %s' % (' '.join(args), out.stderr))
            return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ''

        run(['--create-operator', 'operator'], stdin='browser-test-pw\n')
        school_id = int(run(['--add-school', '浙江省/杭州市第一小学']))
        secret = run(['--register-kiosk', 'K-T1', '--school-id', str(school_id)])

        port = free_port()
        base = 'http://127.0.0.1:%d' % port
        server = subprocess.Popen([server_bin, '--data-dir', data_dir, '--listen', '127.0.0.1',
                                   '--port', str(port), '--sandbox'],
                                  stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, 'server.log'), 'w'))
        api = Api(base)
        wait_for('server start', lambda: api.call('GET', '/api/v1/directory/provinces')[0] == 200)

        # Roster import: frame → echo → commit (the double handshake)
        status, login = api.call('POST', '/api/v1/auth/login',
                                 {'username': 'operator', 'password': 'browser-test-pw'})
        check('operator logs in', status == 200, login)
        token = login['token']
        rows = [
            {'seq': 1, 'province': '浙江省', 'school': '杭州市第一小学', 'class': '三年级(2)班',
             'name': '张小明', 'student_no': '2023001', 'card_no': None},
            {'seq': 2, 'province': '浙江省', 'school': '杭州市第一小学', 'class': '三年级(2)班',
             'name': '李小红', 'student_no': '2023002', 'card_no': None},
        ]
        payload = canonical_json(rows).encode()
        frame = b'LKIMPORT/1 %d\n%s\nLKEND %s\n' % (len(rows), payload,
                                                   hashlib.sha256(payload).hexdigest().encode())
        status, batch = api.call('POST', '/api/v1/imports', frame, token,
                                 'application/vnd.lingka.import-frame')
        check('roster frame accepted', status == 201, batch)
        check('echo checksum is the canonical checksum',
              batch.get('checksum') == hashlib.sha256(payload).hexdigest(), batch)
        status, applied = api.call('POST', '/api/v1/imports/%d/commit' % batch['batch_id'],
                                   {'checksum': batch['checksum']}, token)
        check('roster committed', status == 200 and applied.get('inserted') == 2, applied)

        browser = Browser(tmp)
        browser.navigate(base + '/')

        # Pickers in order, from the directory
        set_select(browser, 'province', '浙江省')
        set_select(browser, 'school', str(school_id))
        set_select(browser, 'class', '三年级(2)班')
        check('pickers filled from the directory',
              browser.js('[document.getElementById("province").value, document.getElementById("school").value, '
                         'document.getElementById("class").value].join("|")')
              == '浙江省|%d|三年级(2)班' % school_id)

        # A mismatch is shown under the field concerned
        set_input(browser, 'name', '张小华')
        set_input(browser, 'student_no', '2023001')
        set_input(browser, 'phone', '13812345678')
        browser.js('document.getElementById("consent").checked = true')
        browser.js('document.getElementById("apply-submit").click()')
        message = browser.wait_js('name mismatch message',
                                  'document.getElementById("name-error").textContent')
        check('mismatch shown under the name', message == '学生姓名与学校登记信息不一致，请核对', message)
        check('still on the form', visible(browser, 'screen-apply'))
        if screenshots:
            browser.js('document.getElementById("name").scrollIntoView({block: "center"})')
            browser.screenshot(os.path.join(screenshots, 'parent-page-form.png'))

        # The right name: verified, on to payment
        set_input(browser, 'name', '张小明')
        browser.js('document.getElementById("apply-submit").click()')
        browser.wait_js('payment screen', '!document.getElementById("screen-pay").hidden')
        check('payment screen after verification', True)
        fee = text_of(browser, 'pay-fee')
        check('fee shown in yuan', fee.count('.') == 1 and fee.replace('.', '').isdigit(), fee)
        check('masked name on the payment screen', '张*明' in text_of(browser, 'pay-who'),
              text_of(browser, 'pay-who'))
        check('sandbox button shown with --sandbox',
              browser.wait_js('payment channels', '!document.querySelector(".pay.sandbox").hidden'))
        stored = browser.js('sessionStorage.getItem("lingka.application")') or ''
        check('application kept in sessionStorage', '"token"' in stored and '张小明' not in stored)

        if screenshots:
            browser.js('window.scrollTo(0, 0)')
            browser.screenshot(os.path.join(screenshots, 'parent-page-pay.png'))

        # Typed something wrong: "取消申请，重新填写" cancels the unpaid application on the
        # server, so the student can apply again (not 409 already_applied)
        first = json.loads(stored)
        browser.js('document.getElementById("pay-restart").click()')
        browser.wait_js('form again', '!document.getElementById("screen-apply").hidden')
        status, old = api.call('GET', '/api/v1/applications/' + first['id'], token=first['token'])
        check('the first application is cancelled on the server',
              status == 200 and old.get('status') == 'cancelled', old)
        set_select(browser, 'province', '浙江省')
        set_select(browser, 'school', str(school_id))
        set_select(browser, 'class', '三年级(2)班')
        set_input(browser, 'name', '张小明')
        set_input(browser, 'student_no', '2023001')
        set_input(browser, 'phone', '13812345679')
        browser.js('document.getElementById("consent").checked = true')
        browser.js('document.getElementById("apply-submit").click()')
        browser.wait_js('payment screen again', '!document.getElementById("screen-pay").hidden')
        check('applied again after cancelling', browser.js('document.getElementById("apply-error").textContent') == '')
        browser.wait_js('payment channels again', '!document.querySelector(".pay.sandbox").hidden')

        # Sandbox payment → the claim code
        browser.js('document.querySelector(".pay.sandbox").click()')
        browser.wait_js('claim code', 'document.getElementById("code-a").textContent.length === 4 && '
                                      '!document.getElementById("code-box").hidden')
        code = text_of(browser, 'code-a') + text_of(browser, 'code-b')
        check('8-digit claim code in 2 groups', len(code) == 8 and code.isdigit(), code)
        check('status reached 可领取',
              browser.js('document.querySelector("#status-list li[data-status=claimable]")'
                         '.classList.contains("done")'))
        if screenshots:
            browser.js('window.scrollTo(0, 0)')
            browser.screenshot(os.path.join(screenshots, 'parent-page.png'))

        # A reload resumes from sessionStorage
        browser.navigate(base + '/')
        browser.wait_js('resume after reload', '!document.getElementById("screen-code").hidden && '
                                               'document.getElementById("code-b").textContent.length === 4')
        check('reload resumes on the code screen',
              text_of(browser, 'code-a') + text_of(browser, 'code-b') == code)
        browser.wait_js('events socket', 'document.getElementById("live-state").textContent !== ""')

        # A kiosk takes the card: the page turns to 已领卡 live
        auth = base64.b64encode(('K-T1:' + secret).encode()).decode()
        kiosk = websocket.create_connection('ws://127.0.0.1:%d/api/v1/kiosk/ws' % port,
                                            header=['Authorization: Basic ' + auth],
                                            timeout=DEADLINE_S, suppress_origin=True)

        def recv_type(wanted):
            while True:
                msg = json.loads(kiosk.recv())
                if msg.get('type') == 'ping':
                    kiosk.send(json.dumps({'type': 'pong', 're': msg.get('id')}))
                elif msg.get('type') == wanted:
                    return msg
        recv_type('codes.snapshot')
        kiosk.send(json.dumps({'type': 'claim.request', 'id': 'bt-1', 'code': code}))
        answer = recv_type('claim.authorized')
        check('kiosk authorized', answer.get('re') == 'bt-1', answer)
        kiosk.send(json.dumps({'type': 'claim.completed', 'id': 'bt-2', 'claim_id': answer['claim_id'],
                               'card_no': 'A1B2C3D4', 'card_data': answer['card_data']}))
        recv_type('ack')
        kiosk.close()

        # Live means over the events socket: well inside the page's 20 s fallback poll.
        browser.wait_js('issued shown live', '!document.getElementById("issued-box").hidden', 8)
        check('page shows "IC卡已完成发卡" live', text_of(browser, 'issued-box').startswith('IC卡已完成发卡'))
        check('status reached 已领卡',
              browser.js('document.querySelector("#status-list li[data-status=issued]")'
                         '.classList.contains("done")'))
    except Exception as e:  # report, do not hide: a failure is a "not ok" with the reason
        log = ''
        try:
            with open(os.path.join(tmp, 'server.log')) as f:
                log = f.read()[-2000:]
        except OSError:
            pass
        check('flow completed', False, '%s: %s\n%s' % (type(e).__name__, e, log))
    finally:
        if browser is not None:
            browser.close()
        if server is not None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return finish()


# meson's timeout sends SIGTERM: unwind through the finally blocks, which stop Chromium and
# the server.
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))
sys.exit(main())
