-- Migration 4: wrong and used claim codes (the live ones have claim_codes_open_lookup), and the
-- kiosk list's reserved claims.
CREATE INDEX claim_codes_lookup ON claim_codes (lookup);
CREATE INDEX claims_kiosk_status ON claims (kiosk_id, status);
