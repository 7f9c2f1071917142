/* lk-kiosks-page.h: operators register kiosks, watch them and release stuck claims
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>
#include <json-glib/json-glib.h>

#include "lk-api-client.h"

G_BEGIN_DECLS

#define LK_TYPE_KIOSKS_PAGE (lk_kiosks_page_get_type ())
G_DECLARE_FINAL_TYPE (LkKiosksPage, lk_kiosks_page, LK, KIOSKS_PAGE, GtkWidget)

/* An operator's client, or NULL (teachers do not see this page). */
void        lk_kiosks_page_set_client      (LkKiosksPage *self,
                                            LkApiClient  *client);
void        lk_kiosks_page_reload          (LkKiosksPage *self);
void        lk_kiosks_page_handle_event    (LkKiosksPage *self,
                                            JsonObject   *event);
/* POST /api/v1/kiosks with what is in the form (the "Register" button). */
void        lk_kiosks_page_register        (LkKiosksPage *self,
                                            const char   *sn,
                                            gint64        school_id);
/* The secret shown after a registration (once), or NULL. */
const char *lk_kiosks_page_get_secret      (LkKiosksPage *self);
/* Asks for confirmation, then releases the claim. Returns the confirmation dialog (owned by
 * GTK; it closes itself). */
AdwMessageDialog *lk_kiosks_page_release_claim (LkKiosksPage *self,
                                                gint64        claim_id);
guint       lk_kiosks_page_get_n_kiosks    (LkKiosksPage *self);
/* The kiosk's JSON as last listed or updated by events, or NULL. */
JsonObject *lk_kiosks_page_get_kiosk       (LkKiosksPage *self,
                                            const char   *sn);

G_END_DECLS
