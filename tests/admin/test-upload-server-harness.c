/* test-upload-server-harness.c: the in-process lingka-server, seen through plain types
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lk-test-server.h"
#include "test-upload-server-harness.h"

struct _Harness
{
  LkTestServer *ts;
};

Harness *
harness_new (void)
{
  Harness *harness = g_new0 (Harness, 1);

  harness->ts = lk_test_server_new (0, NULL);
  return harness;
}

void
harness_free (Harness *harness)
{
  g_clear_pointer (&harness->ts, lk_test_server_free);
  g_free (harness);
}

const char *
harness_base_url (Harness *harness)
{
  return harness->ts->base_url;
}

gint64
harness_school_id (Harness *harness)
{
  return harness->ts->school_id;
}

const char *
harness_province (void)
{
  return LK_TEST_PROVINCE;
}

const char *
harness_school (void)
{
  return LK_TEST_SCHOOL;
}

const char *
harness_password (void)
{
  return LK_TEST_PASSWORD;
}
