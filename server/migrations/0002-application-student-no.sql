-- Migration 2: keep the student number an application was made with.
-- The claim code is re-derived from it (for the parent and the SMS); a later edit of the
-- student's record must not change the code.
ALTER TABLE applications ADD COLUMN student_no TEXT NOT NULL DEFAULT '';
