/* lk-progress-page.h: card pickup per class, live
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>
#include <json-glib/json-glib.h>

#include "lk-api-client.h"
#include "lk-progress-chart.h"

G_BEGIN_DECLS

#define LK_TYPE_PROGRESS_PAGE (lk_progress_page_get_type ())
G_DECLARE_FINAL_TYPE (LkProgressPage, lk_progress_page, LK, PROGRESS_PAGE, GtkWidget)

void             lk_progress_page_set_client   (LkProgressPage *self,
                                                LkApiClient    *client);
/* GET /api/v1/stats again. */
void             lk_progress_page_reload       (LkProgressPage *self);
/* card.issued and application.paid refresh the figures. */
void             lk_progress_page_handle_event (LkProgressPage *self,
                                                JsonObject     *event);
LkProgressChart *lk_progress_page_get_chart    (LkProgressPage *self);
/* School totals, as shown. */
void             lk_progress_page_get_totals   (LkProgressPage *self,
                                                gint64         *applied,
                                                gint64         *paid,
                                                gint64         *issued,
                                                gint64         *issued_today);
/* How many times the figures were loaded (for tests waiting on a refresh). */
guint            lk_progress_page_get_generation (LkProgressPage *self);

G_END_DECLS
