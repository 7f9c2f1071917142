/* lk-claim-codes.h: claim codes on the server side
 *
 * A code is derived (lk_claim_code_derive) from the application's student number, time and day
 * sequence, with the server key; "attempt" is bumped while the result collides with an open
 * code. The code itself is never stored: the store keeps lookup = HMAC(server key, code), for
 * matching a typed code, and the kiosk digest with the school's salt.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "lk-server.h"
#include "lk-store.h"

G_BEGIN_DECLS

/* HMAC-SHA256(server key, "lingka-claim-lookup" ‖ code), lower-case hex. */
char     *lk_claim_code_lookup         (LkServer            *server,
                                        const char          *code);
/* The code of an application that has one (code_attempt ≥ 0). */
char     *lk_claim_code_recompute      (LkServer            *server,
                                        LkApplicationRecord *application);
/* The LkClaimCodeMakeFunc for lk_store_payment_apply(); @user_data is the LkServer. */
gboolean  lk_claim_code_make           (LkApplicationRecord *application,
                                        guint                attempt,
                                        char               **lookup,
                                        char               **kiosk_digest,
                                        gpointer             user_data,
                                        GError             **error);
/* One item of codes.snapshot / code.added:
 * {"code_id", "digest", "student": {"name": masked, "class"}}. */
JsonNode *lk_claim_code_item_json      (gint64               code_id,
                                        const char          *digest,
                                        const char          *masked_name,
                                        const char          *klass);

G_END_DECLS
