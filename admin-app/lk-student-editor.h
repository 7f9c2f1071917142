/* lk-student-editor.h: add one student, or edit one and see their history
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "lk-api-client.h"
#include "lk-student-item.h"

G_BEGIN_DECLS

#define LK_TYPE_STUDENT_EDITOR (lk_student_editor_get_type ())
G_DECLARE_FINAL_TYPE (LkStudentEditor, lk_student_editor, LK, STUDENT_EDITOR, AdwWindow)

/* @student NULL: add a new student. Emits ::saved after the server accepted the change. */
LkStudentEditor *lk_student_editor_new          (GtkWindow       *parent,
                                                 LkApiClient     *client,
                                                 LkStudentItem   *student);
void             lk_student_editor_set_fields   (LkStudentEditor *self,
                                                 const char      *name,
                                                 const char      *klass,
                                                 const char      *student_no,
                                                 const char      *card_no);
void             lk_student_editor_save         (LkStudentEditor *self);
/* The history rows shown (0 until loaded). */
guint            lk_student_editor_get_history_count (LkStudentEditor *self);
const char      *lk_student_editor_get_error    (LkStudentEditor *self);

/* The open application (applied, paid, ready to collect) of the student edited: asks first
 * (the dialog, returned), or cancels at once; "saved" is emitted once it is cancelled. */
AdwMessageDialog *lk_student_editor_confirm_cancel    (LkStudentEditor *self);
void             lk_student_editor_cancel_application (LkStudentEditor *self);
gboolean         lk_student_editor_get_application_cancelled (LkStudentEditor *self);

G_END_DECLS
