/* lk-students-page.h: search, filter, add and edit students; export to xlsx
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>
#include <json-glib/json-glib.h>

#include "lk-api-client.h"
#include "lk-student-editor.h"

G_BEGIN_DECLS

#define LK_TYPE_STUDENTS_PAGE (lk_students_page_get_type ())
G_DECLARE_FINAL_TYPE (LkStudentsPage, lk_students_page, LK, STUDENTS_PAGE, GtkWidget)

/* NULL logs out: the list is emptied. */
void         lk_students_page_set_client    (LkStudentsPage *self,
                                             LkApiClient    *client);
void         lk_students_page_reload        (LkStudentsPage *self);
void         lk_students_page_focus_search  (LkStudentsPage *self);
/* Types into the search entry (the search runs after the debounce, as for a person). */
void         lk_students_page_set_search    (LkStudentsPage *self,
                                             const char     *text);
/* NULL or a DESIGN.md status filter: not_applied, applied, paid, claimable, issued. */
void         lk_students_page_set_status_filter (LkStudentsPage *self,
                                                 const char     *status);
/* Both open the editor window and return it (owned by GTK, closes itself). */
LkStudentEditor *lk_students_page_add_student  (LkStudentsPage *self);
LkStudentEditor *lk_students_page_edit_student (LkStudentsPage *self,
                                                guint           position);
/* Asks where, then lk_students_page_export_to_file(). */
void         lk_students_page_export        (LkStudentsPage *self);
/* Writes every student of the current search and filters to @path (.xlsx), in a thread;
 * a toast says when it is done. */
void         lk_students_page_export_to_file (LkStudentsPage *self,
                                              const char     *path);
void         lk_students_page_handle_event  (LkStudentsPage *self,
                                             JsonObject     *event);

/* The list shown (LkStudentItem). */
GListModel  *lk_students_page_get_model     (LkStudentsPage *self);
/* Every match on the server (the list may hold fewer until scrolled). */
gint64       lk_students_page_get_total     (LkStudentsPage *self);
/* TRUE while a search is pending or running. */
gboolean     lk_students_page_get_loading   (LkStudentsPage *self);

G_END_DECLS
