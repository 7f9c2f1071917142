/* lk-api-kiosks.h: the kiosk endpoints of the REST API
 *
 *   POST /api/v1/kiosks {sn, school_id}            operator → 201 {sn, school_id, secret}
 *   GET  /api/v1/kiosks                            staff (a teacher sees their own school)
 *   POST /api/v1/claims/{claim_id}/release         operator, audit-logged
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "lk-server.h"

G_BEGIN_DECLS

void  lk_api_kiosks_register  (LkServer   *server,
                               SoupServer *soup);

G_END_DECLS
