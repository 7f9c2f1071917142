-- applications.lua: wrk script for POST /api/v1/applications (verification).
--
-- Every request is a different student of the provisioned roster, so each verification
-- succeeds (201) and writes an application; if wrk outruns the roster, repeats get 409
-- already_applied, which done() reports separately (and so do any other statuses).
-- WRK_PROVINCE, WRK_SCHOOL, WRK_CLASS_SIZE, WRK_STUDENTS, WRK_FIRST and WRK_THREADS come from the
-- environment; the classes are as provision.py made them.
--
-- SPDX-License-Identifier: GPL-3.0-or-later

local threads = {}
local province = os.getenv("WRK_PROVINCE")
local school = os.getenv("WRK_SCHOOL")
local class_size = tonumber(os.getenv("WRK_CLASS_SIZE") or "40")
local students = tonumber(os.getenv("WRK_STUDENTS") or "1")
-- The first student of this run: run-server's rounds each take a block of the roster.
local first = tonumber(os.getenv("WRK_FIRST") or "0")

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  -- Each thread takes its own block of students, so no two threads apply for one student.
  local nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
  block = math.max(1, math.floor(students / nthreads))
  base = tid * block
  n = 0
  created, conflict, other = 0, 0, 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local i = first + base + (n % block)
  n = n + 1
  local body = string.format(
    '{"province":"%s","school":"%s","class":"一年级(%d)班","name":"学生%d","student_no":"W%07d",' ..
    '"phone":"13800000000","consent":true}', province, school, math.floor(i / class_size) + 1, i, i)
  return wrk.format(nil, "/api/v1/applications", nil, body)
end

function response(status, headers, body)
  if status == 201 or status == 200 then
    created = created + 1
  elseif status == 409 then
    conflict = conflict + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local c, k, o = 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    k = k + t:get("conflict")
    o = o + t:get("other")
  end
  local seconds = summary.duration / 1e6
  io.write(string.format("wrk: requests=%d seconds=%.2f rate=%.0f/s p50=%.3fms p99=%.3fms " ..
                         "ok=%d conflict=%d other=%d errors=%d\n",
                         summary.requests, seconds, summary.requests / seconds,
                         latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                         c, k, o, summary.errors.connect + summary.errors.read +
                         summary.errors.write + summary.errors.status + summary.errors.timeout))
end
