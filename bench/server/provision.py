#!/usr/bin/env python3
# provision.py: fills a fresh lingka-server for bench/run-server, through its real HTTP API only.
#
#   - a roster (one import frame per school, committed): the wrk students, the claim students
#     of S claim schools, and the students whose applications hold idle event sockets;
#   - K kiosks spread over the claim schools, each with one paid (claimable) code of its school;
#   - idle kiosks (in a school of their own, so that code pushes to the claim schools do not
#     reach them) and idle applications, for the idle WebSockets.
#
# Writes, in --out: kiosks.txt ("SN SECRET CODE"), idle.txt ("kiosk SN SECRET" / "app ID TOKEN",
# interleaved), and wrk.env (the wrk students' province, school, class, name prefix and count).
#
# SPDX-License-Identifier: GPL-3.0-or-later
import argparse
import hashlib
import http.client
import json
import os
import sys
import time
import urllib.parse

PROVINCE = "浙江省"
CLASS_SIZE = 40


def klass(i):
    """Classes of CLASS_SIZE, as a school has them (applications.lua computes the same)."""
    return f"一年级({i // CLASS_SIZE + 1})班"


class Api:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        if u.hostname not in ("127.0.0.1", "localhost", "::1"):
            sys.exit("provision.py: loopback only")
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)

    def call(self, method, path, body=None, token=None, content_type="application/json", expect=(200, 201)):
        headers = {}
        if token:
            headers["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = content_type
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        if resp.status not in expect:
            sys.exit(f"provision.py: {method} {path} → {resp.status} {raw[:300]!r}")
        return json.loads(raw) if raw else None


# A frame holds at most 200,000 rows (docs/protocol.md): a bigger roster goes in several.
FRAME_ROWS = 100000


def import_school(api, token, school, names_numbers):
    for start in range(0, len(names_numbers), FRAME_ROWS):
        part = names_numbers[start:start + FRAME_ROWS]
        rows = [{"seq": j + 1, "province": PROVINCE, "school": school, "class": klass(start + j),
                 "name": name, "student_no": no, "card_no": None}
                for j, (name, no) in enumerate(part)]
        payload = json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode()
        frame = (f"LKIMPORT/1 {len(rows)}\n".encode() + payload + b"\n"
                 + f"LKEND {hashlib.sha256(payload).hexdigest()}\n".encode())
        echo = api.call("POST", "/api/v1/imports", frame, token,
                        content_type="application/vnd.lingka.import-frame")
        api.call("POST", f"/api/v1/imports/{echo['batch_id']}/commit", {"checksum": echo["checksum"]},
                 token)


def apply(api, school, i, name, no):
    return api.call("POST", "/api/v1/applications", {
        "province": PROVINCE, "school": school, "class": klass(i), "name": name,
        "student_no": no, "phone": "13800000000", "consent": True})


STARTED = time.monotonic()


def step(what):
    print(f"  {time.monotonic() - STARTED:6.1f}s {what}", file=sys.stderr, flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--operator", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--wrk-students", type=int, default=60000)
    p.add_argument("--claim-schools", type=int, default=10)
    p.add_argument("--kiosks", type=int, default=50)
    p.add_argument("--idle-kiosks", type=int, default=2500)
    p.add_argument("--idle-apps", type=int, default=2500)
    a = p.parse_args()

    api = Api(a.url)
    token = api.call("POST", "/api/v1/auth/login", {"username": a.operator, "password": a.password})["token"]

    step("roster")
    wrk_school = "基准压测小学"
    import_school(api, token, wrk_school, [(f"学生{i}", f"W{i:07d}") for i in range(a.wrk_students)])

    claim_schools = [f"基准领卡小学{s}" for s in range(a.claim_schools)]
    per_school = (a.kiosks + a.claim_schools - 1) // a.claim_schools
    for s, school in enumerate(claim_schools):
        import_school(api, token, school, [(f"领卡{s}号{i}", f"C{s:02d}{i:05d}") for i in range(per_school)])

    idle_school = "基准空闲小学"
    import_school(api, token, idle_school, [(f"空闲{i}", f"I{i:07d}") for i in range(max(a.idle_apps, 1))])

    ids = {s["name"]: s["id"] for s in
           api.call("GET", "/api/v1/directory/schools?province=" + urllib.parse.quote(PROVINCE))}

    step("kiosks and codes")
    # Active kiosks, one claimable code each, in their own school.
    with open(os.path.join(a.out, "kiosks.txt"), "w") as f:
        for k in range(a.kiosks):
            s, i = k % a.claim_schools, k // a.claim_schools
            school = claim_schools[s]
            sn = f"BENCH-{k:03d}"
            secret = api.call("POST", "/api/v1/kiosks", {"sn": sn, "school_id": ids[school]}, token)["secret"]
            app = apply(api, school, i, f"领卡{s}号{i}", f"C{s:02d}{i:05d}")
            order = api.call("POST", f"/api/v1/applications/{app['id']}/payment", {"channel": "sandbox"},
                             app["token"])
            api.call("POST", f"/api/v1/sandbox/pay/{order['order_no']}")
            code = api.call("GET", f"/api/v1/applications/{app['id']}", token=app["token"])["claim_code"]
            f.write(f"{sn} {secret} {code}\n")

    step("idle kiosks and applications")
    # Idle sockets: kiosks and parents' application events, interleaved.
    kiosks, apps = [], []
    for k in range(a.idle_kiosks):
        sn = f"IDLE-{k:05d}"
        secret = api.call("POST", "/api/v1/kiosks", {"sn": sn, "school_id": ids[idle_school]}, token)["secret"]
        kiosks.append(f"kiosk {sn} {secret}")
    for i in range(a.idle_apps):
        app = apply(api, idle_school, i, f"空闲{i}", f"I{i:07d}")
        apps.append(f"app {app['id']} {app['token']}")
    with open(os.path.join(a.out, "idle.txt"), "w") as f:
        for n in range(max(len(kiosks), len(apps))):
            if n < len(kiosks):
                f.write(kiosks[n] + "\n")
            if n < len(apps):
                f.write(apps[n] + "\n")

    step("done")
    with open(os.path.join(a.out, "wrk.env"), "w") as f:
        f.write(f"WRK_PROVINCE='{PROVINCE}'\nWRK_SCHOOL='{wrk_school}'\nWRK_CLASS_SIZE={CLASS_SIZE}\n"
                f"WRK_STUDENTS={a.wrk_students}\n")


if __name__ == "__main__":
    main()
