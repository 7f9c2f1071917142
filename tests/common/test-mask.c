/* test-mask.c: masking of names, phone numbers and student numbers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lk-mask.h"

typedef struct
{
  const char *in;
  const char *out;
} Case;

static void
check_cases (char *(*mask) (const char *),
             const Case *cases,
             gsize       n_cases)
{
  for (gsize i = 0; i < n_cases; i++)
    {
      g_autofree char *masked = mask (cases[i].in);

      g_assert_cmpstr (masked, ==, cases[i].out);
      g_assert_true (g_utf8_validate (masked, -1, NULL));
    }
}

static void
test_name (void)
{
  static const Case cases[] = {
    { "张三", "张*" },
    { "张小明", "张*明" },
    { "欧阳小明", "欧**明" },
    { "司马相如明", "司***明" },
    { "张", "*" },
    { "", "" },
    { NULL, "" },
    { "Li", "L*" },
    { "Anna", "A**a" },
  };

  check_cases (lk_mask_name, cases, G_N_ELEMENTS (cases));
}

static void
test_name_invalid_utf8 (void)
{
  g_autofree char *masked = lk_mask_name ("\xe5\xbc\xa0\xff\xe6\x98\x8e");

  /* Invalid bytes never reach a screen or a log. */
  g_assert_true (g_utf8_validate (masked, -1, NULL));
  g_assert_true (g_str_has_prefix (masked, "张"));
  g_assert_true (g_str_has_suffix (masked, "明"));
}

static void
test_phone (void)
{
  static const Case cases[] = {
    { "13812345678", "138****5678" },
    { "+8613812345678", "+86*******5678" },
    { "12345678", "****5678" },
    { "12345", "****5" },
    { "123", "***" },
    { "", "" },
    { NULL, "" },
  };

  check_cases (lk_mask_phone, cases, G_N_ELEMENTS (cases));
}

static void
test_student_no (void)
{
  static const Case cases[] = {
    { "2023001234", "******1234" },
    { "202300123", "*****0123" },
    { "12345678", "****5678" },
    { "1234", "**34" },
    { "1", "*" },
    { "", "" },
    { NULL, "" },
  };

  check_cases (lk_mask_student_no, cases, G_N_ELEMENTS (cases));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/common/mask/name", test_name);
  g_test_add_func ("/common/mask/name-invalid-utf8", test_name_invalid_utf8);
  g_test_add_func ("/common/mask/phone", test_phone);
  g_test_add_func ("/common/mask/student-no", test_student_no);

  return g_test_run ();
}
