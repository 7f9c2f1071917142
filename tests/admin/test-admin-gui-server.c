/* test-admin-gui-server.c: the in-process lingka-server of the admin GUI tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lk-password.h"
#include "lk-server.h"
#include "lk-store.h"
#include "test-admin-gui-server.h"

struct _AdminTestServer
{
  LkServer *server;
  char     *url;
  gint64    school_id;
};

AdminTestServer *
admin_test_server_start (const char *dir,
                         const char *province,
                         const char *school,
                         const char *teacher,
                         const char *teacher_password,
                         const char *operator_name,
                         const char *operator_password)
{
  g_autoptr (LkConfig) config = lk_config_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *teacher_hash = NULL;
  g_autofree char *operator_hash = NULL;
  AdminTestServer *self = g_new0 (AdminTestServer, 1);
  LkStore *store;

  lk_config_set_data_dir (config, dir);
  lk_config_set_listen (config, "127.0.0.1");
  lk_config_set_port (config, 0);
  lk_config_set_threads (config, 2);
  lk_config_set_sandbox (config, TRUE);
  lk_config_set_password_iterations (config, 1000);
  self->server = lk_server_new (config, &error);
  g_assert_no_error (error);
  g_assert_true (lk_server_start (self->server, &error));
  g_assert_no_error (error);
  self->url = lk_server_get_base_url (self->server);

  store = lk_server_get_store (self->server);
  self->school_id = lk_store_school_ensure (store, province, school, "pbkdf2-sha256", 1000,
                                            NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (self->school_id, >, 0);

  teacher_hash = lk_password_hash (teacher_password, 1000);
  operator_hash = lk_password_hash (operator_password, 1000);
  g_assert_cmpint (lk_store_user_create (store, teacher, teacher_hash, "teacher",
                                         self->school_id, &error), >, 0);
  g_assert_no_error (error);
  g_assert_cmpint (lk_store_user_create (store, operator_name, operator_hash, "operator", 0,
                                         &error), >, 0);
  g_assert_no_error (error);

  return self;
}

void
admin_test_server_stop (AdminTestServer *self)
{
  lk_server_stop (self->server);
  g_clear_object (&self->server);
  g_free (self->url);
  g_free (self);
}

const char *
admin_test_server_url (AdminTestServer *self)
{
  return self->url;
}

gint64
admin_test_server_school_id (AdminTestServer *self)
{
  return self->school_id;
}

gint64
admin_test_server_count (AdminTestServer *self,
                         const char      *table,
                         const char      *where)
{
  return lk_store_debug_count (lk_server_get_store (self->server), table, where);
}
