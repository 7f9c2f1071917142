/* test-admin-gui-server.h: the in-process lingka-server of the admin GUI tests
 *
 * Kept apart from the admin headers: the server's store and the admin app's upload each
 * have their own LkImportResult.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _AdminTestServer AdminTestServer;

/* Starts lingka-server (sandbox) on a free loopback port with data in @dir, creates the
 * school @province/@school and the users teacher (of that school) and operator. */
AdminTestServer *admin_test_server_start     (const char      *dir,
                                              const char      *province,
                                              const char      *school,
                                              const char      *teacher,
                                              const char      *teacher_password,
                                              const char      *operator_name,
                                              const char      *operator_password);
void             admin_test_server_stop      (AdminTestServer *self);
const char      *admin_test_server_url       (AdminTestServer *self);
gint64           admin_test_server_school_id (AdminTestServer *self);
/* Rows of @table matching @where (NULL: all). */
gint64           admin_test_server_count     (AdminTestServer *self,
                                              const char      *table,
                                              const char      *where);

G_END_DECLS
