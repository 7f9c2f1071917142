/* test-i18n.c: the message catalogue, in Chinese by default and in English on request
 *
 * Each case runs in a subprocess: the locale and LANGUAGE are process-wide, and GLib decides
 * once per process whether g_dgettext () translates.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <locale.h>

#include "lk-i18n.h"
#include "lk-import-frame.h"

#define MSGID "Student name is missing"
#define MSGSTR "学生姓名缺失"

static void
clear_locale_environment (void)
{
  const char *vars[] = { "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG" };

  for (guint i = 0; i < G_N_ELEMENTS (vars); i++)
    g_unsetenv (vars[i]);
}

/* The message of a row without a name, as the library reports it to a person */
static char *
missing_name_message (void)
{
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_row_error_free);
  g_autoptr(LkImportRow) row = lk_import_row_new ();

  row->seq = 1;
  row->province = g_strdup ("浙江省");
  row->school = g_strdup ("杭州市第一小学");
  row->klass = g_strdup ("三年级(2)班");
  row->student_no = g_strdup ("2023001");

  g_assert_false (lk_import_row_validate (row, errors));
  g_assert_cmpuint (errors->len, ==, 1);

  return g_strdup (((LkRowError *) g_ptr_array_index (errors, 0))->message);
}

static void
expect (const char *expected)
{
  g_autofree char *message = missing_name_message ();

  g_assert_cmpstr (message, ==, expected);
  g_assert_cmpstr (gettext (MSGID), ==, expected);
  g_assert_cmpstr (_(MSGID), ==, expected);
}

static void
run_case (const char *name)
{
  g_autofree char *path = g_strdup_printf ("/common/i18n/%s/subprocess", name);

  g_test_trap_subprocess (path, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_catalogue_found (void)
{
  const char *dir = g_getenv ("LINGKA_LOCALEDIR");
  g_autofree char *mo = NULL;

  g_assert_nonnull (dir);
  mo = g_build_filename (dir, "zh_CN", "LC_MESSAGES", GETTEXT_PACKAGE ".mo", NULL);
  g_assert_true (g_file_test (mo, G_FILE_TEST_IS_REGULAR));
}

static void
sub_default_is_chinese (void)
{
  clear_locale_environment ();
  lk_i18n_init (NULL);
  g_assert_cmpstr (g_getenv ("LANGUAGE"), ==, "zh_CN");
  expect (MSGSTR);
}

static void
sub_survives_gtk_setlocale (void)
{
  /* gtk_init () runs setlocale (LC_ALL, "") after the program's own set-up. */
  clear_locale_environment ();
  lk_i18n_init (NULL);
  g_assert_nonnull (setlocale (LC_ALL, ""));
  expect (MSGSTR);
}

static void
sub_c_locale_is_chinese (void)
{
  clear_locale_environment ();
  g_setenv ("LC_ALL", "C", TRUE);
  lk_i18n_init (NULL);
  expect (MSGSTR);
}

static void
sub_language_zh (void)
{
  clear_locale_environment ();
  lk_i18n_init ("zh_CN");
  expect (MSGSTR);
}

static void
sub_language_en (void)
{
  clear_locale_environment ();
  lk_i18n_init ("en");
  expect (MSGID);
}

static void
sub_language_overrides_environment (void)
{
  clear_locale_environment ();
  g_setenv ("LANGUAGE", "zh_CN", TRUE);
  g_setenv ("LANG", "zh_CN.UTF-8", TRUE);
  lk_i18n_init ("en");
  expect (MSGID);
}

static void
sub_lang_zh (void)
{
  /* Works whether or not zh_CN.UTF-8 is generated on this machine. */
  clear_locale_environment ();
  g_setenv ("LANG", "zh_CN.UTF-8", TRUE);
  lk_i18n_init (NULL);
  expect (MSGSTR);
}

static void
sub_lang_en (void)
{
  clear_locale_environment ();
  g_setenv ("LANG", "en_US.UTF-8", TRUE);
  lk_i18n_init (NULL);
  expect (MSGID);
}

static void
sub_environment_language (void)
{
  clear_locale_environment ();
  g_setenv ("LANGUAGE", "en", TRUE);
  lk_i18n_init (NULL);
  expect (MSGID);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/common/i18n/catalogue-found", test_catalogue_found);

#define ADD_CASE(name, func)                                                              \
  g_test_add_data_func ("/common/i18n/" name, name, (GTestDataFunc) run_case);            \
  g_test_add_func ("/common/i18n/" name "/subprocess", func);

  ADD_CASE ("default-is-chinese", sub_default_is_chinese);
  ADD_CASE ("survives-gtk-setlocale", sub_survives_gtk_setlocale);
  ADD_CASE ("c-locale-is-chinese", sub_c_locale_is_chinese);
  ADD_CASE ("language-zh", sub_language_zh);
  ADD_CASE ("language-en", sub_language_en);
  ADD_CASE ("language-overrides-environment", sub_language_overrides_environment);
  ADD_CASE ("lang-zh", sub_lang_zh);
  ADD_CASE ("lang-en", sub_lang_en);
  ADD_CASE ("environment-language", sub_environment_language);

#undef ADD_CASE

  return g_test_run ();
}
