-- Migration 3: verification looks a student up by school, class and name, then compares the
-- student number; without this index it read every student of the class.
CREATE INDEX students_verify ON students (school_id, class_name, name, student_no);
