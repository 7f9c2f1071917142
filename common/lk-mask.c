/* lk-mask.c: masking of minors' personal data for screens and logs (PIPL)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lk-mask.h"

/* Copies characters [start, end) of @text (counted in characters), masking the rest with '*'. */
static char *
mask_chars (const char *text,
            glong       keep_head,
            glong       keep_tail)
{
  g_autofree char *valid = NULL;
  GString *out;
  const char *p;
  glong n_chars;
  glong i = 0;

  if (text == NULL || *text == '\0')
    return g_strdup ("");

  /* Masked text is shown and logged: never pass invalid UTF-8 on. */
  valid = g_utf8_make_valid (text, -1);
  n_chars = g_utf8_strlen (valid, -1);
  out = g_string_sized_new (strlen (valid));

  for (p = valid; *p != '\0'; p = g_utf8_next_char (p), i++)
    {
      if (i < keep_head || i >= n_chars - keep_tail)
        g_string_append_unichar (out, g_utf8_get_char (p));
      else
        g_string_append_c (out, '*');
    }

  return g_string_free (out, FALSE);
}

char *
lk_mask_name (const char *name)
{
  glong n_chars;

  if (name == NULL || *name == '\0')
    return g_strdup ("");

  n_chars = g_utf8_strlen (name, -1);

  /* 张 → *, 张三 → 张*, 张小明 → 张*明, 欧阳小明 → 欧**明 */
  if (n_chars <= 1)
    return mask_chars (name, 0, 0);
  if (n_chars == 2)
    return mask_chars (name, 1, 0);
  return mask_chars (name, 1, 1);
}

char *
lk_mask_phone (const char *phone)
{
  glong n_chars;

  if (phone == NULL || *phone == '\0')
    return g_strdup ("");

  n_chars = g_utf8_strlen (phone, -1);

  /* 13812345678 → 138****5678. Short numbers keep less, so that at least half is hidden. */
  if (n_chars >= 11)
    return mask_chars (phone, 3, 4);
  if (n_chars >= 8)
    return mask_chars (phone, 0, 4);
  if (n_chars >= 4)
    return mask_chars (phone, 0, n_chars / 2 - 1);
  return mask_chars (phone, 0, 0);
}

char *
lk_mask_student_no (const char *student_no)
{
  glong n_chars;

  if (student_no == NULL || *student_no == '\0')
    return g_strdup ("");

  n_chars = g_utf8_strlen (student_no, -1);

  /* 2023001234 → ******1234; a number of 8 or fewer characters keeps only half of its tail. */
  if (n_chars > 8)
    return mask_chars (student_no, 0, 4);
  return mask_chars (student_no, 0, n_chars / 2);
}
