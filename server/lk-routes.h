/* lk-routes.h: the server's route table
 *
 * lk_routes_register() runs once per listener thread, with that thread's SoupServer, and calls
 * every API module's lk_api_<x>_register(). Modules add their paths with lk_routes_add(), which
 * also installs the early handler that refuses oversized bodies before they are read.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "lk-server.h"

G_BEGIN_DECLS

typedef void (*LkRouteFunc) (LkServer          *server,
                             SoupServerMessage *msg,
                             const char        *path,
                             GHashTable        *query);

void lk_routes_register (LkServer    *server,
                         SoupServer  *soup);

/* Handles @path and everything below it; bodies over @max_body_bytes get 413. */
void lk_routes_add      (LkServer    *server,
                         SoupServer  *soup,
                         const char  *path,
                         gsize        max_body_bytes,
                         LkRouteFunc  func);

/* Each API module. */
void lk_api_auth_register         (LkServer *server, SoupServer *soup);
void lk_api_imports_register      (LkServer *server, SoupServer *soup);
void lk_api_directory_register    (LkServer *server, SoupServer *soup);
void lk_api_students_register     (LkServer *server, SoupServer *soup);
void lk_api_applications_register (LkServer *server, SoupServer *soup);

/* Cancels an application and answers: the parent's (by @application_id, with its token already
 * checked; @auth NULL) or, with @auth, the open application of @student_id
 * (POST /api/v1/students/{id}/application/cancel). docs/protocol.md, 4.2. */
void lk_api_applications_cancel   (LkServer            *server,
                                   SoupServerMessage   *msg,
                                   const LkAuthContext *auth,
                                   const char          *application_id,
                                   gint64               student_id);
void lk_api_stats_register        (LkServer *server, SoupServer *soup);

G_END_DECLS
