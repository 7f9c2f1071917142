-- Migration 1: the whole v1 schema.
-- Owned by the store layer (server/lk-store*.c); nothing else runs SQL.
-- Times are unix seconds (UTC). Money is in fen. Secrets are stored as hashes only.

CREATE TABLE provinces (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE
);

CREATE TABLE schools (
  id                INTEGER PRIMARY KEY,
  province_id       INTEGER NOT NULL REFERENCES provinces (id),
  name              TEXT NOT NULL,
  -- the salted digest that this school's kiosks receive (codes.snapshot "digest")
  digest_alg        TEXT NOT NULL DEFAULT 'pbkdf2-sha256' CHECK (digest_alg IN ('pbkdf2-sha256', 'md5')),
  digest_salt       TEXT NOT NULL,          -- 16 random bytes, hex
  digest_iterations INTEGER NOT NULL DEFAULT 10000,
  created_at        INTEGER NOT NULL,
  UNIQUE (province_id, name)
);

CREATE TABLE users (
  id             INTEGER PRIMARY KEY,
  username       TEXT NOT NULL UNIQUE,
  password_hash  TEXT NOT NULL,             -- "pbkdf2-sha256$iter$salt$hash" or "scrypt$..."
  role           TEXT NOT NULL CHECK (role IN ('teacher', 'operator')),
  school_id      INTEGER REFERENCES schools (id),
  created_at     INTEGER NOT NULL,
  disabled       INTEGER NOT NULL DEFAULT 0,
  CHECK (role = 'operator' OR school_id IS NOT NULL)
);

CREATE TABLE sessions (
  token_hash   TEXT PRIMARY KEY,            -- sha256 hex of the bearer token
  user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE students (
  id           INTEGER PRIMARY KEY,
  school_id    INTEGER NOT NULL REFERENCES schools (id),
  class_name   TEXT NOT NULL,
  name         TEXT NOT NULL,
  student_no   TEXT NOT NULL,
  card_no      TEXT,                        -- bound card UID, 8 upper-case hex
  version      INTEGER NOT NULL DEFAULT 1,  -- bumped on every change; history keeps the old ones
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  UNIQUE (school_id, student_no)
);
CREATE INDEX students_class ON students (school_id, class_name);

-- The previous version of a student, written before every change (import, edit, card binding).
CREATE TABLE student_history (
  id           INTEGER PRIMARY KEY,
  student_id   INTEGER NOT NULL REFERENCES students (id),
  version      INTEGER NOT NULL,
  class_name   TEXT NOT NULL,
  name         TEXT NOT NULL,
  student_no   TEXT NOT NULL,
  card_no      TEXT,
  reason       TEXT NOT NULL CHECK (reason IN ('import', 'edit', 'card_bound')),
  batch_id     INTEGER REFERENCES import_batches (id),
  changed_by   INTEGER REFERENCES users (id),
  changed_at   INTEGER NOT NULL
);
CREATE INDEX student_history_student ON student_history (student_id, version);

-- Step 1: a frame is stored as a backup batch, echoed, and applied on commit.
CREATE TABLE import_batches (
  id           INTEGER PRIMARY KEY,
  created_by   INTEGER NOT NULL REFERENCES users (id),
  created_at   INTEGER NOT NULL,
  row_count    INTEGER NOT NULL,
  checksum     TEXT NOT NULL,               -- lk_import_rows_checksum of the stored rows
  payload      TEXT NOT NULL,               -- canonical JSON of the stored rows
  status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'committed', 'superseded')),
  committed_at INTEGER,
  inserted     INTEGER,
  updated      INTEGER,
  unchanged    INTEGER
);

-- Step 2: applications. At most one open application per student.
CREATE TABLE applications (
  id           TEXT PRIMARY KEY,            -- random, hex
  student_id   INTEGER NOT NULL REFERENCES students (id),
  token_hash   TEXT NOT NULL,               -- sha256 hex of the parent's bearer token
  phone        TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('verified', 'paid', 'claimable', 'issued', 'cancelled')),
  fee_fen      INTEGER NOT NULL,
  consent_at   INTEGER NOT NULL,            -- PIPL: the parent's consent for a minor's data
  consent_version TEXT NOT NULL,
  day          TEXT NOT NULL,               -- YYYY-MM-DD (Asia/Shanghai) of the application
  day_seq      INTEGER NOT NULL,            -- that day's sequence number
  created_at   INTEGER NOT NULL,
  paid_at      INTEGER,
  issued_at    INTEGER,
  card_no      TEXT,
  kiosk_sn     TEXT,                        -- where the card was collected
  UNIQUE (day, day_seq)
);
CREATE UNIQUE INDEX applications_open ON applications (student_id)
  WHERE status IN ('verified', 'paid', 'claimable');

-- Step 3: payments. Applied exactly once, however often the notification arrives.
CREATE TABLE payments (
  order_no     TEXT PRIMARY KEY,
  application_id TEXT NOT NULL REFERENCES applications (id),
  channel      TEXT NOT NULL CHECK (channel IN ('wechat', 'alipay', 'sandbox')),
  amount_fen   INTEGER NOT NULL,
  status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid', 'closed')),
  provider_txn TEXT UNIQUE,                 -- the provider's transaction id
  created_at   INTEGER NOT NULL,
  paid_at      INTEGER
);
CREATE INDEX payments_application ON payments (application_id);

-- Step 4: claim codes. The code itself is never stored: it is re-derived from
-- (student_no, application time, day_seq, attempt) with the server's secret when the parent
-- asks for it. "lookup" is HMAC(server secret, code), for matching a typed code; kiosk_digest is
-- what kiosks get.
CREATE TABLE claim_codes (
  id             INTEGER PRIMARY KEY,
  application_id TEXT NOT NULL UNIQUE REFERENCES applications (id),
  school_id      INTEGER NOT NULL REFERENCES schools (id),
  student_id     INTEGER NOT NULL REFERENCES students (id),
  attempt        INTEGER NOT NULL DEFAULT 0,
  lookup         TEXT NOT NULL,
  kiosk_digest   TEXT NOT NULL,
  status         TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'reserved', 'used', 'revoked')),
  created_at     INTEGER NOT NULL
);
-- unique among codes that are not yet used
CREATE UNIQUE INDEX claim_codes_open_lookup ON claim_codes (lookup) WHERE status IN ('open', 'reserved');
CREATE INDEX claim_codes_school ON claim_codes (school_id, status);

CREATE TABLE kiosks (
  id           INTEGER PRIMARY KEY,
  sn           TEXT NOT NULL UNIQUE,
  school_id    INTEGER NOT NULL REFERENCES schools (id),
  secret_hash  TEXT NOT NULL,               -- sha256 hex of the kiosk secret
  created_at   INTEGER NOT NULL,
  last_seen    INTEGER,
  stock        TEXT NOT NULL DEFAULT 'ok' CHECK (stock IN ('ok', 'low', 'empty')),
  faults       TEXT NOT NULL DEFAULT '[]'   -- JSON array of strings
);

-- Step 5: a claim is one kiosk's authorization for one code. It stays reserved until its kiosk
-- reports, or an operator releases it; never on a timer.
CREATE TABLE claims (
  id           INTEGER PRIMARY KEY,
  code_id      INTEGER NOT NULL REFERENCES claim_codes (id),
  kiosk_id     INTEGER NOT NULL REFERENCES kiosks (id),
  status       TEXT NOT NULL CHECK (status IN ('reserved', 'completed', 'failed', 'released')),
  authorized_at INTEGER NOT NULL,
  finished_at  INTEGER,
  card_no      TEXT,
  card_data    TEXT,                        -- JSON, as written to the card
  fail_reason  TEXT,
  released_by  INTEGER REFERENCES users (id)
);
-- exactly one live claim per code
CREATE UNIQUE INDEX claims_one_live ON claims (code_id) WHERE status IN ('reserved', 'completed');

-- Answers already given to kiosk messages, so a resent id gets the same answer.
CREATE TABLE kiosk_replies (
  kiosk_id     INTEGER NOT NULL REFERENCES kiosks (id),
  msg_id       TEXT NOT NULL,
  reply        TEXT NOT NULL,               -- the JSON answer
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (kiosk_id, msg_id)
);

-- SMS outbox: retried until sent, never lost. The claim code is not stored in it; the sender
-- re-derives it from the application.
CREATE TABLE sms_outbox (
  id             INTEGER PRIMARY KEY,
  phone          TEXT NOT NULL,
  template       TEXT NOT NULL CHECK (template IN ('claim_code', 'card_issued')),
  application_id TEXT REFERENCES applications (id),
  status         TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent')),
  attempts       INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error     TEXT,
  created_at     INTEGER NOT NULL,
  sent_at        INTEGER
);
CREATE INDEX sms_outbox_due ON sms_outbox (status, next_attempt_at);

-- Staff reads and writes of student records (PIPL).
CREATE TABLE audit_log (
  id           INTEGER PRIMARY KEY,
  at           INTEGER NOT NULL,
  user_id      INTEGER REFERENCES users (id),
  action       TEXT NOT NULL,               -- e.g. "students.search", "students.update", "import.commit"
  school_id    INTEGER,
  target       TEXT,                        -- e.g. "student:42", "batch:7"
  detail       TEXT                         -- never personal data in clear
);
CREATE INDEX audit_log_at ON audit_log (at);
