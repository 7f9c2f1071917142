/* lk-i18n.c: gettext set-up shared by the programs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <locale.h>

#include "lk-i18n.h"

/* TRUE when a locale name does not name a language: unset, empty, "C", "POSIX" or "C.<codeset>". */
static gboolean
locale_names_no_language (const char *name)
{
  if (name == NULL || *name == '\0')
    return TRUE;

  return g_str_equal (name, "C") ||
         g_str_equal (name, "POSIX") ||
         g_str_has_prefix (name, "C.");
}

/* The locale name that decides LC_MESSAGES, as POSIX orders the variables. */
static const char *
messages_locale_from_environment (void)
{
  const char *vars[] = { "LC_ALL", "LC_MESSAGES", "LANG" };

  for (guint i = 0; i < G_N_ELEMENTS (vars); i++)
    {
      const char *value = g_getenv (vars[i]);

      if (value != NULL && *value != '\0')
        return value;
    }

  return NULL;
}

/* "zh_CN.UTF-8@variant" → "zh_CN" */
static char *
language_of_locale (const char *name)
{
  gsize len = strcspn (name, ".@");

  return g_strndup (name, len);
}

static const char *
find_localedir (void)
{
  const char *dir = g_getenv ("LINGKA_LOCALEDIR");

  if (dir != NULL && *dir != '\0')
    return dir;

  /* Uninstalled runs (tests, ./dev demo) use the catalogue in the build tree. */
  if (g_file_test (BUILD_LOCALEDIR, G_FILE_TEST_IS_DIR))
    return BUILD_LOCALEDIR;

  return LOCALEDIR;
}

void
lk_i18n_init (const char *language)
{
  const char *env_locale = messages_locale_from_environment ();
  const char *env_language = g_getenv ("LANGUAGE");
  const char *current;
  gboolean locale_ok;

  locale_ok = setlocale (LC_ALL, "") != NULL;

  /* glibc ignores LANGUAGE while LC_MESSAGES is the plain "C" locale. A machine without the
   * zh_CN.UTF-8 locale generated (a fresh container, CI) still has the built-in C.UTF-8,
   * which lets LANGUAGE choose the catalogue and keeps the codeset UTF-8. */
  current = setlocale (LC_MESSAGES, NULL);
  if (!locale_ok || current == NULL ||
      g_str_equal (current, "C") || g_str_equal (current, "POSIX"))
    {
      const char *fallback = "C.UTF-8";

      if (setlocale (LC_ALL, fallback) == NULL)
        {
          fallback = "C.utf8";
          setlocale (LC_ALL, fallback);
        }

      /* gtk_init () calls setlocale (LC_ALL, "") again: make that call land on the same
       * locale instead of falling back to "C", where LANGUAGE would be ignored. */
      g_setenv ("LC_ALL", fallback, TRUE);
    }

  if (language != NULL && *language != '\0')
    {
      g_setenv ("LANGUAGE", language, TRUE);
    }
  else if (env_language == NULL || *env_language == '\0')
    {
      if (locale_names_no_language (env_locale))
        {
          g_setenv ("LANGUAGE", "zh_CN", TRUE);
        }
      else if (!locale_ok)
        {
          /* The environment names a locale that is not generated here (LANG=zh_CN.UTF-8
           * without locale-gen): keep its language through LANGUAGE. */
          g_autofree char *lang = language_of_locale (env_locale);

          if (*lang != '\0')
            g_setenv ("LANGUAGE", lang, TRUE);
        }
    }

  bindtextdomain (GETTEXT_PACKAGE, find_localedir ());
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  /* textdomain () also tells gettext that LANGUAGE may have changed since its last lookup. */
  textdomain (GETTEXT_PACKAGE);
}
