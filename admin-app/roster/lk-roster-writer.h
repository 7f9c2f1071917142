/* lk-roster-writer.h: writes .xlsx files for teachers (template, export) with libxlsxwriter
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The roster template: the seven columns, a bold header, one example row, and the
 * 学生学号 and IC卡号 columns formatted as text so that leading zeros stay. */
gboolean lk_roster_write_template    (const char  *path,
                                      GError     **error);

/* Rows (LkImportRow) as a roster that lk_roster_read_file() reads back; student numbers
 * and card numbers are written as text. Used by the export of a preview and the bench. */
gboolean lk_roster_write_rows        (const char  *path,
                                      GPtrArray   *rows,
                                      GError     **error);

/* Students as the server lists them (JsonObject*, keys "student_no", "name", "class",
 * "card_no", "status", and "school"/"province" when present) with their card numbers
 * and card status (translated). */
gboolean lk_roster_export_students   (const char  *path,
                                      GPtrArray   *students,
                                      GError     **error);

/* The translated label of a card status ("none"/"verified"/"paid"/"claimable"/"issued"/
 * "cancelled"); unknown values are returned as they are. */
const char *lk_roster_status_label   (const char  *status);

G_END_DECLS
