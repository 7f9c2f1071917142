/* app.js: the parents' page of Lingka (领卡)
 *
 * Plain ES2017, no framework and no external resources: it must work offline from the server
 * alone, including in WeChat's built-in browser. The application id and token live in
 * sessionStorage, so a reload (or coming back from a payment app) resumes where it was.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
'use strict';

(function () {
  const API = '/api/v1';
  const STORE_KEY = 'lingka.application';
  const HEARTBEAT_MS = 15000;   /* LK_HEARTBEAT_INTERVAL_S */
  const POLL_MS = 20000;        /* a fallback when a proxy blocks WebSockets */
  const RECONNECT_MAX_MS = 30000;

  const MISMATCH = {
    province: '学校所在省份与学校登记信息不一致，请核对',
    school: '学校名称与学校登记信息不一致，请核对',
    class: '班级与学校登记信息不一致，请核对',
    name: '学生姓名与学校登记信息不一致，请核对',
    student_no: '学号与学校登记信息不一致，请核对'
  };
  const STATUS_TEXT = {
    verified: '已核验，待缴费',
    paid: '已支付',
    claimable: '可领取',
    issued: '已领卡',
    cancelled: '已取消'
  };
  const FORM_FIELDS = ['province', 'school', 'class', 'name', 'student_no', 'phone', 'consent'];

  const $ = (id) => document.getElementById(id);

  let session = null;       /* {id, token, fee_fen, school, klass, who, status} */
  let socket = null;
  let socketTimer = 0;
  let heartbeatTimer = 0;
  let pollTimer = 0;
  let reconnectDelay = 1000;
  let schoolsById = {};
  let shownProvince = null;  /* what the school list is for (loaded or loading) */
  let shownSchool = null;    /* what the class list is for */
  let directorySeq = 0;      /* a newer choice makes older answers stale */

  /* ---- helpers ---- */

  class ApiError extends Error {
    constructor (status, code, message, field, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.field = field;
      this.retryAfter = retryAfter;
    }
  }

  async function api (method, path, body, token) {
    const headers = { 'Accept': 'application/json' };
    const init = { method: method, headers: headers, credentials: 'same-origin', cache: 'no-store' };
    let response;
    let data = null;

    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (token) {
      headers['Authorization'] = 'Bearer ' + token;
    }

    try {
      response = await fetch(path.indexOf(API + '/') === 0 ? path : API + path, init);
    } catch (e) {
      throw new ApiError(0, 'network', '网络连接失败，请检查网络后重试', null, 0);
    }

    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }

    if (!response.ok) {
      const err = (data && data.error) || {};
      const retryAfter = parseInt(response.headers.get('Retry-After') || '0', 10) || 0;
      throw new ApiError(response.status, err.code || 'http_' + response.status,
                         err.message || '服务暂时不可用，请稍后再试', err.field || null, retryAfter);
    }

    return data;
  }

  /* 张三 → 张*, 张小明 → 张*明, 欧阳小明 → 欧**明 (as lk_mask_name, by characters) */
  function maskName (name) {
    const chars = Array.from(name || '');

    if (chars.length === 0) {
      return '';
    }
    if (chars.length === 1) {
      return '*';
    }
    if (chars.length === 2) {
      return chars[0] + '*';
    }
    return chars[0] + '*'.repeat(chars.length - 2) + chars[chars.length - 1];
  }

  /* The same trimming as the server (lk_normalize_text): ASCII and Unicode spaces,
   * full-width ASCII to ASCII. */
  function normalize (text) {
    let out = '';

    for (const ch of String(text || '')) {
      const c = ch.codePointAt(0);

      if (c >= 0xFF01 && c <= 0xFF5E) {
        out += String.fromCodePoint(c - 0xFEE0);
      } else if (c === 0x3000) {
        out += ' ';
      } else {
        out += ch;
      }
    }
    if (out.normalize) {
      out = out.normalize('NFC');
    }
    return out.replace(/^[\s\u00a0\u200b-\u200d\u2060\u3000\ufeff]+|[\s\u00a0\u200b-\u200d\u2060\u3000\ufeff]+$/g, '');
  }

  function isPhone () {
    return /Mobi|Android|iPhone|iPad|MicroMessenger|AlipayClient/i.test(navigator.userAgent || '');
  }

  function formatYuan (fen) {
    return (Number(fen || 0) / 100).toFixed(2);
  }

  /* The server sends Unix seconds; ISO text is accepted too. */
  function formatDateTime (value) {
    const d = new Date(typeof value === 'number' ? value * 1000 : value);

    if (isNaN(d.getTime())) {
      return '';
    }
    const pad = (n) => (n < 10 ? '0' : '') + n;
    return d.getFullYear() + '年' + (d.getMonth() + 1) + '月' + d.getDate() + '日 ' +
           pad(d.getHours()) + ':' + pad(d.getMinutes());
  }

  function saveSession () {
    try {
      if (session) {
        sessionStorage.setItem(STORE_KEY, JSON.stringify(session));
      } else {
        sessionStorage.removeItem(STORE_KEY);
      }
    } catch (e) {
      /* Private mode without storage: the page still works, it just cannot resume. */
    }
  }

  function loadSession () {
    try {
      const raw = sessionStorage.getItem(STORE_KEY);
      const parsed = raw ? JSON.parse(raw) : null;

      if (parsed && parsed.id && parsed.token) {
        return parsed;
      }
    } catch (e) {
      /* unreadable: start again */
    }
    return null;
  }

  function show (screen) {
    for (const name of ['apply', 'pay', 'code']) {
      $('screen-' + name).hidden = name !== screen;
    }
    for (const li of document.querySelectorAll('.steps li')) {
      const step = li.getAttribute('data-step');
      li.classList.toggle('current', step === screen);
      li.classList.toggle('done', (screen === 'pay' && step === 'apply') ||
                                  (screen === 'code' && step !== 'code'));
    }
    window.scrollTo(0, 0);
  }

  /* ---- the form ---- */

  function setFieldError (field, message) {
    const box = $(field + '-error');
    const wrapper = document.querySelector('.field[data-field="' + field + '"]');

    if (box) {
      box.textContent = message || '';
    }
    if (wrapper) {
      wrapper.classList.toggle('invalid', !!message);
    }
  }

  function clearErrors () {
    for (const field of FORM_FIELDS) {
      setFieldError(field, '');
    }
    $('apply-error').textContent = '';
  }

  function fillSelect (select, items, placeholder) {
    select.textContent = '';
    const first = document.createElement('option');
    first.value = '';
    first.textContent = placeholder;
    select.appendChild(first);
    for (const item of items) {
      const option = document.createElement('option');
      option.value = item.value;
      option.textContent = item.label;
      select.appendChild(option);
    }
  }

  async function loadProvinces () {
    const select = $('province');

    try {
      const provinces = await api('GET', '/directory/provinces');
      fillSelect(select, provinces.map((p) => ({ value: p, label: p })), '请选择省份');
      select.disabled = false;
      if (provinces.length === 1) {
        select.value = provinces[0];
        await onProvinceChanged();
      }
    } catch (e) {
      fillSelect(select, [], '加载失败，请刷新页面重试');
      setFieldError('province', e.message);
    }
  }

  async function onProvinceChanged () {
    const province = $('province').value;
    const school = $('school');
    const klass = $('class');

    setFieldError('province', '');
    if (province === shownProvince) {
      return;
    }
    shownProvince = province;
    shownSchool = null;
    const seq = ++directorySeq;
    fillSelect(klass, [], '请先选择学校');
    klass.disabled = true;
    schoolsById = {};

    if (!province) {
      fillSelect(school, [], '请先选择省份');
      school.disabled = true;
      return;
    }

    fillSelect(school, [], '正在加载…');
    school.disabled = true;
    try {
      const schools = await api('GET', '/directory/schools?province=' + encodeURIComponent(province));
      if (seq !== directorySeq) {
        return;
      }
      for (const s of schools) {
        schoolsById[String(s.id)] = s.name;
      }
      fillSelect(school, schools.map((s) => ({ value: String(s.id), label: s.name })), '请选择学校');
      school.disabled = false;
      if (schools.length === 1) {
        school.value = String(schools[0].id);
        await onSchoolChanged();
      }
    } catch (e) {
      if (seq === directorySeq) {
        shownProvince = null;
        fillSelect(school, [], '加载失败，请重新选择省份');
        setFieldError('school', e.message);
      }
    }
  }

  async function onSchoolChanged () {
    const schoolId = $('school').value;
    const klass = $('class');

    setFieldError('school', '');
    if (schoolId === shownSchool) {
      return;
    }
    shownSchool = schoolId;
    const seq = ++directorySeq;
    if (!schoolId) {
      fillSelect(klass, [], '请先选择学校');
      klass.disabled = true;
      return;
    }

    fillSelect(klass, [], '正在加载…');
    klass.disabled = true;
    try {
      const classes = await api('GET', '/directory/classes?school=' + encodeURIComponent(schoolId));
      if (seq !== directorySeq) {
        return;
      }
      fillSelect(klass, classes.map((c) => ({ value: c, label: c })), '请选择班级');
      klass.disabled = false;
    } catch (e) {
      if (seq === directorySeq) {
        shownSchool = null;
        fillSelect(klass, [], '加载失败，请重新选择学校');
        setFieldError('class', e.message);
      }
    }
  }

  function readForm () {
    return {
      province: $('province').value,
      schoolId: $('school').value,
      school: schoolsById[$('school').value] || '',
      klass: $('class').value,
      name: normalize($('name').value),
      student_no: normalize($('student_no').value),
      phone: normalize($('phone').value).replace(/[\s-]/g, ''),
      consent: $('consent').checked
    };
  }

  function checkForm (form) {
    const errors = {};

    if (!form.province) {
      errors.province = '请选择学校所在省份';
    }
    if (!form.schoolId) {
      errors.school = '请选择学校';
    }
    if (!form.klass) {
      errors.class = '请选择班级';
    }
    if (!form.name) {
      errors.name = '请填写学生姓名';
    } else if (Array.from(form.name).length > 64) {
      errors.name = '学生姓名过长，请核对';
    }
    if (!form.student_no) {
      errors.student_no = '请填写学号';
    } else if (!/^[0-9A-Za-z-]{1,32}$/.test(form.student_no)) {
      errors.student_no = '学号只能包含字母、数字或连字符，请核对';
    }
    if (!/^1[0-9]{10}$/.test(form.phone)) {
      errors.phone = '请填写11位手机号码';
    }
    if (!form.consent) {
      errors.consent = '请阅读并同意《个人信息处理说明》';
    }
    return errors;
  }

  async function onApplySubmit (event) {
    event.preventDefault();
    clearErrors();

    const form = readForm();
    const errors = checkForm(form);
    const fields = Object.keys(errors);
    const button = $('apply-submit');

    if (fields.length > 0) {
      for (const field of fields) {
        setFieldError(field, errors[field]);
      }
      const first = $(fields[0] === 'class' ? 'class' : fields[0]);
      if (first && first.focus) {
        first.focus();
      }
      return;
    }

    button.disabled = true;
    button.textContent = '正在核验…';
    try {
      const result = await api('POST', '/applications', {
        province: form.province,
        school: form.school,
        class: form.klass,
        name: form.name,
        student_no: form.student_no,
        phone: form.phone,
        consent: true
      });

      session = {
        id: result.id,
        token: result.token,
        fee_fen: result.fee_fen,
        status: result.status || 'verified',
        school: form.school,
        klass: form.klass,
        who: maskName(form.name)
      };
      saveSession();
      showPay();
    } catch (e) {
      showApplyError(e);
    } finally {
      button.disabled = false;
      button.textContent = '提交核验';
    }
  }

  function showApplyError (e) {
    if (e.code === 'verification_failed' && MISMATCH[e.field]) {
      setFieldError(e.field, MISMATCH[e.field]);
      const input = $(e.field);
      if (input && input.focus) {
        input.focus();
      }
    } else if (e.code === 'consent_required') {
      setFieldError('consent', '请阅读并同意《个人信息处理说明》');
    } else if (e.code === 'already_applied') {
      $('apply-error').textContent = '该学生已有一份进行中的申请。请在提交申请时使用的页面查看进度，如有疑问请联系班主任。';
    } else if (e.code === 'rate_limited') {
      $('apply-error').textContent = e.retryAfter > 0
        ? '尝试次数过多，请 ' + e.retryAfter + ' 秒后再试'
        : '尝试次数过多，请稍后再试';
    } else if (e.field && document.querySelector('.field[data-field="' + e.field + '"]')) {
      setFieldError(e.field, e.message);
    } else {
      $('apply-error').textContent = e.message;
    }
  }

  /* ---- payment ---- */

  async function loadChannels () {
    const sandbox = document.querySelector('.pay.sandbox');

    /* The server lists its payment channels; the sandbox one exists only with --sandbox. */
    try {
      const data = await api('GET', '/payment/channels');
      const channels = Array.isArray(data) ? data : (data && data.channels) || [];

      for (const button of document.querySelectorAll('.pay')) {
        button.hidden = channels.indexOf(button.getAttribute('data-channel')) < 0;
      }
      if (channels.length === 0) {
        $('pay-error').textContent = '暂时无法在线支付，请稍后再试或联系班主任';
      }
    } catch (e) {
      sandbox.hidden = !(e.status === 404 && await hasSandbox());
    }
  }

  /* A server without the channel list: its sandbox route answers a GET with 405 (it only takes
   * POST) when --sandbox is on, and with 404 when it is off. Nothing is created either way. */
  async function hasSandbox () {
    try {
      const response = await fetch(API + '/sandbox/pay/probe', { method: 'GET', cache: 'no-store' });
      return response.status === 405;
    } catch (e) {
      return false;
    }
  }

  function showPay () {
    $('pay-who').textContent = [session.school, session.klass, session.who].filter(Boolean).join(' · ');
    $('pay-fee').textContent = formatYuan(session.fee_fen);
    $('pay-error').textContent = '';
    $('pay-hint').hidden = true;
    $('pay-qr').hidden = true;
    $('pay-pending').hidden = true;
    setPayButtonsDisabled(false);
    show('pay');
    loadChannels();
    connectEvents();
  }

  function setPayButtonsDisabled (disabled) {
    for (const button of document.querySelectorAll('.pay')) {
      button.disabled = disabled;
    }
  }

  async function onPayClicked (event) {
    const button = event.target.closest('.pay');

    if (!button || button.disabled) {
      return;
    }

    const channel = button.getAttribute('data-channel');
    $('pay-error').textContent = '';
    setPayButtonsDisabled(true);

    try {
      const order = await api('POST', '/applications/' + encodeURIComponent(session.id) + '/payment',
                              { channel: channel }, session.token);

      session.order_no = order.order_no;
      if (order.amount_fen !== undefined) {
        session.fee_fen = order.amount_fen;
        $('pay-fee').textContent = formatYuan(order.amount_fen);
      }
      saveSession();

      if (channel === 'sandbox') {
        const url = order.pay_url && order.pay_url.indexOf('/') === 0
          ? order.pay_url
          : API + '/sandbox/pay/' + encodeURIComponent(order.order_no);
        $('pay-pending').hidden = false;
        await api('POST', url);
        await refreshStatus();
      } else if (order.pay_url && !isPhone() && window.LingkaQr &&
                 window.LingkaQr.draw($('pay-qr-canvas'), order.pay_url, 240)) {
        /* On a PC: scan the provider's link with the phone. */
        $('pay-qr-caption').textContent = channel === 'wechat'
          ? '请使用微信扫一扫完成支付'
          : '请使用支付宝扫一扫完成支付';
        $('pay-qr').hidden = false;
        $('pay-pending').hidden = false;
      } else if (order.pay_url && /^https?:\/\//.test(order.pay_url)) {
        /* The provider's cashier page; coming back reloads this page, which resumes. */
        $('pay-pending').hidden = false;
        window.location.href = order.pay_url;
      } else {
        $('pay-hint').textContent = '请在手机上完成支付，支付成功后本页会自动更新。';
        $('pay-hint').hidden = false;
        $('pay-pending').hidden = false;
      }
    } catch (e) {
      $('pay-pending').hidden = true;
      if (e.status === 401 || e.status === 404) {
        restart();
        $('apply-error').textContent = '申请已失效，请重新填写信息';
        return;
      }
      $('pay-error').textContent = e.code === 'network' ? e.message : '支付未能发起：' + e.message;
    } finally {
      setPayButtonsDisabled(false);
    }
  }

  /* ---- status and the claim code ---- */

  function renderStatus (app) {
    const status = app.status;
    const order = ['paid', 'claimable', 'issued'];
    const reached = order.indexOf(status);

    session.status = status;
    saveSession();

    if (status === 'verified') {
      if ($('screen-pay').hidden) {
        showPay();
      }
      return;
    }

    if ($('screen-code').hidden) {
      show('code');
    }

    for (const li of document.querySelectorAll('#status-list li')) {
      const index = order.indexOf(li.getAttribute('data-status'));
      li.classList.toggle('done', reached >= 0 && index <= reached);
      li.classList.toggle('current', index === reached);
    }

    const hasCode = typeof app.claim_code === 'string' && app.claim_code.length === 8;
    $('code-box').hidden = !(hasCode && status === 'claimable');
    $('howto').hidden = status !== 'claimable';
    $('code-waiting').hidden = !(status === 'paid' || (status === 'claimable' && !hasCode));
    $('issued-box').hidden = status !== 'issued';
    $('cancelled-box').hidden = status !== 'cancelled';
    $('howto-school').textContent = session.school || '学校';

    if (hasCode) {
      $('code-a').textContent = app.claim_code.slice(0, 4);
      $('code-b').textContent = app.claim_code.slice(4);
    }

    if (status === 'issued') {
      const parts = [];
      if (app.issued_at) {
        parts.push('领卡时间：' + formatDateTime(app.issued_at));
      }
      if (app.kiosk_sn || session.kiosk_sn) {
        parts.push('自助机：' + (app.kiosk_sn || session.kiosk_sn));
      }
      if (app.card_no) {
        parts.push('卡号：' + app.card_no);
      }
      $('issued-detail').textContent = parts.join(' · ');
    }

    $('live-state').textContent = '当前状态：' + (STATUS_TEXT[status] || status);

    if (status === 'issued' || status === 'cancelled') {
      stopEvents();
    }
  }

  async function refreshStatus () {
    if (!session) {
      return;
    }
    try {
      const app = await api('GET', '/applications/' + encodeURIComponent(session.id), undefined,
                            session.token);
      renderStatus(app);
    } catch (e) {
      if (e.status === 401 || e.status === 404) {
        restart();
        $('apply-error').textContent = '申请已失效，请重新填写信息';
      } else {
        $('live-state').textContent = e.message;
      }
    }
  }

  function stopEvents () {
    clearTimeout(socketTimer);
    clearInterval(heartbeatTimer);
    clearInterval(pollTimer);
    socketTimer = heartbeatTimer = pollTimer = 0;
    if (socket) {
      const s = socket;
      socket = null;
      s.onclose = null;
      try {
        s.close();
      } catch (e) {
        /* already closed */
      }
    }
  }

  function connectEvents () {
    if (!session || socket || !('WebSocket' in window)) {
      startPolling();
      return;
    }

    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + API +
                '/applications/' + encodeURIComponent(session.id) + '/events?token=' +
                encodeURIComponent(session.token);
    let ws;

    try {
      ws = new WebSocket(url);
    } catch (e) {
      startPolling();
      return;
    }
    socket = ws;

    ws.onopen = () => {
      reconnectDelay = 1000;
      /* The server drops a silent connection (application heartbeat, protocol.md 2.5). */
      clearInterval(heartbeatTimer);
      heartbeatTimer = setInterval(() => {
        if (ws.readyState === 1) {
          ws.send(JSON.stringify({ type: 'ping', id: String(Date.now()) }));
        }
      }, HEARTBEAT_MS);
      /* Anything may have changed while we were away. */
      refreshStatus();
    };

    ws.onmessage = (event) => {
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (!msg || typeof msg.type !== 'string') {
        return;
      }
      if (msg.type === 'ping') {
        ws.send(JSON.stringify(msg.id ? { type: 'pong', re: msg.id } : { type: 'pong' }));
      } else if (msg.type === 'application.status' || msg.status) {
        if (msg.status === 'issued' && msg.kiosk_sn) {
          session.kiosk_sn = msg.kiosk_sn;
        }
        refreshStatus();
      }
    };

    ws.onclose = () => {
      clearInterval(heartbeatTimer);
      heartbeatTimer = 0;
      if (socket !== ws) {
        return;
      }
      socket = null;
      if (session && session.status !== 'issued' && session.status !== 'cancelled') {
        socketTimer = setTimeout(connectEvents, reconnectDelay);
        reconnectDelay = Math.min(reconnectDelay * 2, RECONNECT_MAX_MS);
      }
    };

    startPolling();
  }

  function startPolling () {
    if (!pollTimer) {
      pollTimer = setInterval(refreshStatus, POLL_MS);
    }
  }

  /* ---- start and restart ---- */

  function restart () {
    stopEvents();
    session = null;
    saveSession();
    $('apply-form').reset();
    clearErrors();
    shownProvince = shownSchool = null;
    onProvinceChanged();
    show('apply');
  }

  /* "Typed something wrong" on the payment screen: the unpaid application is cancelled on the
   * server first, or the student could not apply again (409 already_applied) and this page,
   * having forgotten the token, could not say where the open application is. */
  async function cancelAndRestart () {
    if (!session) {
      restart();
      return;
    }
    $('pay-error').textContent = '';
    $('pay-restart').disabled = true;
    try {
      await api('POST', '/applications/' + encodeURIComponent(session.id) + '/cancel', undefined,
                session.token);
    } catch (e) {
      if (e.code === 'not_cancellable') {
        /* Paid in the meantime: show where it stands instead. */
        await refreshStatus();
      } else if (e.status === 401 || e.status === 404) {
        restart();
      } else {
        $('pay-error').textContent = e.message;
      }
      return;
    } finally {
      $('pay-restart').disabled = false;
    }
    restart();
  }

  function onConsentLinkClicked (event) {
    event.preventDefault();
    const text = $('consent-text');
    text.hidden = !text.hidden;
    if (!text.hidden) {
      text.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
    }
  }

  function init () {
    $('province').addEventListener('change', onProvinceChanged);
    $('school').addEventListener('change', onSchoolChanged);
    $('class').addEventListener('change', () => setFieldError('class', ''));
    for (const id of ['name', 'student_no', 'phone']) {
      $(id).addEventListener('input', () => setFieldError(id, ''));
    }
    $('consent').addEventListener('change', () => setFieldError('consent', ''));
    $('consent-link').addEventListener('click', onConsentLinkClicked);
    $('apply-form').addEventListener('submit', onApplySubmit);
    $('pay-buttons').addEventListener('click', onPayClicked);
    $('pay-restart').addEventListener('click', cancelAndRestart);
    $('code-restart').addEventListener('click', restart);

    loadProvinces();

    session = loadSession();
    if (session) {
      if (session.status === 'verified' || !session.status) {
        showPay();
      } else {
        show('code');
        renderStatus({ status: session.status });
        connectEvents();
      }
      refreshStatus();
    } else {
      show('apply');
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
