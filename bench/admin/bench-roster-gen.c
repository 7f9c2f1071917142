/* bench-roster-gen.c: writes an N-row roster .xlsx the way an office's Excel file looks
 *
 *   bench-roster-gen N OUT.xlsx
 *
 * libxlsxwriter with shared strings (as Excel writes them); 序号 as numbers; student numbers
 * as numbers in even rows and as text with leading zeros in odd rows; a card number in every
 * fourth row; 40 students to a class, 12 classes to a grade.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <glib.h>
#include <xlsxwriter.h>

static const char * const header[] = {
  "序号", "学校所在省份", "学校名称", "学生姓名", "学生班级", "学生学号", "IC卡号",
};
static const char surnames[][4] = {
  "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
};
static const char * const given[] = {
  "子涵", "欣怡", "梓萱", "浩宇", "雨桐", "一诺", "俊杰", "思远", "可馨", "宇轩", "嘉懿", "明轩",
};
static const char * const grades[] = { "一", "二", "三", "四", "五", "六" };

int
main (int   argc,
      char *argv[])
{
  lxw_workbook *workbook;
  lxw_worksheet *sheet;
  lxw_format *text;
  lxw_error err;
  guint64 n;

  if (argc != 3 || (n = g_ascii_strtoull (argv[1], NULL, 10)) == 0)
    {
      fprintf (stderr, "usage: %s ROWS OUT.xlsx\n", argv[0]);
      return 2;
    }

  workbook = workbook_new (argv[2]);
  if (workbook == NULL)
    {
      fprintf (stderr, "cannot create %s\n", argv[2]);
      return 1;
    }
  sheet = workbook_add_worksheet (workbook, "学生名单");
  text = workbook_add_format (workbook);
  format_set_num_format (text, "@");

  for (guint c = 0; c < G_N_ELEMENTS (header); c++)
    worksheet_write_string (sheet, 0, c, header[c], NULL);

  for (guint64 i = 1; i <= n; i++)
    {
      char name[32], klass[32], student_no[32], card[16];
      guint64 class_index = (i - 1) / 40;

      g_snprintf (name, sizeof name, "%s%s%s", surnames[i % G_N_ELEMENTS (surnames)],
                  i % 5 ? "" : "小", given[(i / 3) % G_N_ELEMENTS (given)]);
      g_snprintf (klass, sizeof klass, "%s年级(%u)班", grades[(class_index / 12) % 6],
                  (guint) (class_index % 12) + 1);
      worksheet_write_number (sheet, i, 0, (double) i, NULL);
      worksheet_write_string (sheet, i, 1, "浙江省", NULL);
      worksheet_write_string (sheet, i, 2, "杭州市基准测试小学", NULL);
      worksheet_write_string (sheet, i, 3, name, NULL);
      worksheet_write_string (sheet, i, 4, klass, NULL);
      if (i % 2 == 0)
        worksheet_write_number (sheet, i, 5, (double) (2020000000ull + i), NULL);
      else
        {
          g_snprintf (student_no, sizeof student_no, "00%08" G_GUINT64_FORMAT, i);
          worksheet_write_string (sheet, i, 5, student_no, text);
        }
      if (i % 4 == 0)
        {
          g_snprintf (card, sizeof card, "%08X", (guint) (0x10000000u + i * 7919u));
          worksheet_write_string (sheet, i, 6, card, text);
        }
    }

  err = workbook_close (workbook);
  if (err != LXW_NO_ERROR)
    {
      fprintf (stderr, "cannot write %s: %s\n", argv[2], lxw_strerror (err));
      return 1;
    }

  return 0;
}
