-- Migration 6: the two indexes that every claim changes hold only the rows they are read for.
--
-- claims_kiosk_status (kiosk_id, status) held every claim ever made, and claim_codes_school
-- (school_id, status) every code. Each reservation, and each report, moved an entry from one
-- status to another in both: two index leaves written each time, at places that spread out as
-- the history grew. Their only readers want a kiosk's reserved claims (the kiosk list) and a
-- school's open codes (the kiosk snapshot). Indexes that hold just those rows stay a few pages
-- big, and a claim's step adds or removes one entry in each. Measured with 50 kiosks in a closed
-- loop, from the pages in the WAL: claims_kiosk_status took 5.1 pages a commit, claims_reserved
-- takes 1.0, and a commit wrote 15.4 pages instead of 18.4 (docs/bench-server.md, "Ninth
-- session").
CREATE INDEX claims_reserved ON claims (kiosk_id) WHERE status = 'reserved';
DROP INDEX claims_kiosk_status;
CREATE INDEX claim_codes_school_open ON claim_codes (school_id) WHERE status = 'open';
DROP INDEX claim_codes_school;
