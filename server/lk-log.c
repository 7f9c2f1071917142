/* lk-log.c: structured log lines
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdarg.h>

#include "lk-log.h"

#define MAX_FIELDS 16

void
lk_log_event_full (const char     *domain,
                   GLogLevelFlags  level,
                   const char     *message,
                   ...)
{
  GLogField fields[MAX_FIELDS + 3];
  g_autoptr(GString) text = NULL;
  gsize n = 0;
  const char *key;
  va_list args;

  if (g_log_writer_default_would_drop (level, domain))
    return;

  text = g_string_new (message);
  va_start (args, message);
  while ((key = va_arg (args, const char *)) != NULL)
    {
      const char *value = va_arg (args, const char *);

      if (value == NULL)
        value = "";
      if (n < MAX_FIELDS)
        {
          fields[n].key = key;
          fields[n].value = value;
          fields[n].length = -1;
          n++;
        }
      g_string_append_printf (text, " %s=%s", key, value);
    }
  va_end (args);

  fields[n].key = "GLIB_DOMAIN";
  fields[n].value = domain != NULL ? domain : "lingka";
  fields[n].length = -1;
  n++;
  fields[n].key = "MESSAGE";
  fields[n].value = text->str;
  fields[n].length = -1;
  n++;
  fields[n].key = "PRIORITY";
  fields[n].value = level & G_LOG_LEVEL_ERROR ? "3"
                    : level & G_LOG_LEVEL_CRITICAL ? "4"
                    : level & G_LOG_LEVEL_WARNING ? "4"
                    : level & G_LOG_LEVEL_MESSAGE ? "5"
                    : level & G_LOG_LEVEL_INFO ? "6" : "7";
  fields[n].length = -1;
  n++;
  g_log_structured_array (level, fields, n);
}

static void
drop_log_cb (const char     *domain,
             GLogLevelFlags  level,
             const char     *message,
             gpointer        user_data)
{
}

void
lk_log_quiet_library_debug (void)
{
  static const char *domains[] = { "libsoup" };

  for (guint i = 0; i < G_N_ELEMENTS (domains); i++)
    if (g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, domains[i]))
      g_log_set_handler (domains[i], G_LOG_LEVEL_DEBUG, drop_log_cb, NULL);
}
