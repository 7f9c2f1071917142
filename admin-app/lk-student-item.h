/* lk-student-item.h: one student as the server lists it, for list models
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define LK_TYPE_STUDENT_ITEM (lk_student_item_get_type ())
G_DECLARE_FINAL_TYPE (LkStudentItem, lk_student_item, LK, STUDENT_ITEM, GObject)

/* From a JSON object of GET /api/v1/students; keeps a reference to it. */
LkStudentItem *lk_student_item_new            (JsonObject    *object);

JsonObject    *lk_student_item_get_object     (LkStudentItem *self);
gint64         lk_student_item_get_id         (LkStudentItem *self);
gint64         lk_student_item_get_school_id  (LkStudentItem *self);
const char    *lk_student_item_get_name       (LkStudentItem *self);
/* 张*明: what the screens show (PIPL). */
const char    *lk_student_item_get_masked_name (LkStudentItem *self);
const char    *lk_student_item_get_class      (LkStudentItem *self);
const char    *lk_student_item_get_student_no (LkStudentItem *self);
const char    *lk_student_item_get_card_no    (LkStudentItem *self);
const char    *lk_student_item_get_status     (LkStudentItem *self);
const char    *lk_student_item_get_school     (LkStudentItem *self);

/* The translated label of a card status as the students page shows it. */
const char    *lk_student_status_label        (const char    *status);

G_END_DECLS
