#!/usr/bin/env python3
# make-fixtures.py OUTDIR: writes the roster files that tests/admin/test-roster-reader reads.
#
# The spreadsheets are written by programs other than Lingka: openpyxl (which writes inline
# strings and numbers the way it does), and a small writer below that lays out the zip parts
# exactly as Microsoft Excel does (shared strings with rich-text runs and phonetic runs,
# exponent numbers, cells without "r", absolute relationship targets). For every file that
# should be read, OUTDIR/<name>.expected.json holds the rows the reader must return, in
# DESIGN.md's row form, so the test checks every cell.
#
# SPDX-License-Identifier: GPL-3.0-or-later

import json
import os
import sys
import zipfile

import openpyxl

HEADER = ['序号', '学校所在省份', '学校名称', '学生姓名', '学生班级', '学生学号', 'IC卡号']
KEYS = ['seq', 'province', 'school', 'name', 'class', 'student_no', 'card_no']

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def path(name):
    return os.path.join(out, name)


def expect(name, rows):
    """rows: lists in HEADER order, already as the reader must return them."""
    with open(path(name + '.expected.json'), 'w', encoding='utf-8') as f:
        json.dump([dict(zip(KEYS, r)) for r in rows], f, ensure_ascii=False, indent=1)


def roster_sheet(ws, header, rows):
    ws.append(header)
    for r in rows:
        ws.append(r)


# --- openpyxl ------------------------------------------------------------------------

# Numbers stored as numbers (openpyxl writes t="n"), strings inline (t="inlineStr").
wb = openpyxl.Workbook()
ws = wb.active
ws.title = '学生名单'
roster_sheet(ws, HEADER, [
    [1, '浙江省', '杭州市文三街小学', '徐宇轩', '三年级(1)班', 2023001, None],
    [2, '浙江省', '杭州市文三街小学', '马欣怡', '三年级(1)班', 2023002.0, 'A1B2C3D4'],
    [3, '浙江省', '杭州市文三街小学', '张嘉懿', '三年级(2)班', '2023003', ''],
])
wb.save(path('opx-basic.xlsx'))
expect('opx-basic', [
    [1, '浙江省', '杭州市文三街小学', '徐宇轩', '三年级(1)班', '2023001', None],
    [2, '浙江省', '杭州市文三街小学', '马欣怡', '三年级(1)班', '2023002', 'A1B2C3D4'],
    [3, '浙江省', '杭州市文三街小学', '张嘉懿', '三年级(2)班', '2023003', None],
])

# Leading zeros kept when the cell is text (number format "@").
wb = openpyxl.Workbook()
ws = wb.active
roster_sheet(ws, HEADER, [
    [1, '江苏省', '南京市琅琊路小学', '王一诺', '一年级(3)班', '0020230001', '00AB12CD'],
    [2, '江苏省', '南京市琅琊路小学', '李子墨', '一年级(3)班', '000123', None],
])
for row in ws.iter_rows(min_row=2, min_col=6, max_col=7):
    for cell in row:
        cell.number_format = '@'
wb.save(path('opx-leading-zeros.xlsx'))
expect('opx-leading-zeros', [
    [1, '江苏省', '南京市琅琊路小学', '王一诺', '一年级(3)班', '0020230001', '00AB12CD'],
    [2, '江苏省', '南京市琅琊路小学', '李子墨', '一年级(3)班', '000123', None],
])

# Blank rows: empty, whitespace only, and styled but empty cells.
wb = openpyxl.Workbook()
ws = wb.active
ws.append(HEADER)
ws.append([1, '浙江省', '宁波市实验小学', '陈思远', '四年级(1)班', '20210001', None])
ws.append([])
ws.append([None, ' ', '\u3000', None, '', None, None])
ws.append([2, '浙江省', '宁波市实验小学', '赵雨桐', '四年级(1)班', '20210002', None])
for col in range(1, 8):
    ws.cell(row=6, column=col).number_format = '@'
ws.append([])
ws.cell(row=8, column=1, value=3)
for col, value in enumerate(['浙江省', '宁波市实验小学', '孙浩然', '四年级(2)班', '20210003'], start=2):
    ws.cell(row=8, column=col, value=value)
wb.save(path('opx-blank-rows.xlsx'))
expect('opx-blank-rows', [
    [1, '浙江省', '宁波市实验小学', '陈思远', '四年级(1)班', '20210001', None],
    [2, '浙江省', '宁波市实验小学', '赵雨桐', '四年级(1)班', '20210002', None],
    [3, '浙江省', '宁波市实验小学', '孙浩然', '四年级(2)班', '20210003', None],
])

# Extra sheets: the roster is neither the first nor the last sheet. The first sheet has a
# row naming some of the columns, which must not be taken for the header.
wb = openpyxl.Workbook()
notes = wb.active
notes.title = '填表说明'
notes.append(['请在“名单”表中填写，列为：学生姓名、学生学号'])
notes.append(['学生姓名', '说明'])
roster = wb.create_sheet('名单')
roster_sheet(roster, HEADER, [
    [1, '广东省', '深圳市南山实验学校', '林晓彤', '五年级(2)班', 2020101, None],
    [2, '广东省', '深圳市南山实验学校', '黄俊杰', '五年级(2)班', 2020102, None],
])
stats = wb.create_sheet('统计')
roster_sheet(stats, HEADER, [[99, '错误', '不应读取', '不应读取', '不应读取', 9999, None]])
wb.save(path('opx-extra-sheets.xlsx'))
expect('opx-extra-sheets', [
    [1, '广东省', '深圳市南山实验学校', '林晓彤', '五年级(2)班', '2020101', None],
    [2, '广东省', '深圳市南山实验学校', '黄俊杰', '五年级(2)班', '2020102', None],
])

# Extra columns between and after the roster columns, and a title row above the header.
wb = openpyxl.Workbook()
ws = wb.active
ws.append(['2026年秋季学期 学生名单'])
ws.merge_cells('A1:J1')
ws.append([])
ws.append(['序号', '学校所在省份', '学校名称', '备注', '学生姓名', '家长电话', '学生班级', '学生学号',
           'IC卡号', '性别'])
ws.append([1, '四川省', '成都市泡桐树小学', '转学', '刘一鸣', '13812345678', '二年级(4)班', 2022041,
           None, '男'])
ws.append([2, '四川省', '成都市泡桐树小学', None, '杨可欣', '13987654321', '二年级(4)班', 2022042,
           'FFEE0011', '女'])
wb.save(path('opx-extra-columns.xlsx'))
expect('opx-extra-columns', [
    [1, '四川省', '成都市泡桐树小学', '刘一鸣', '二年级(4)班', '2022041', None],
    [2, '四川省', '成都市泡桐树小学', '杨可欣', '二年级(4)班', '2022042', 'FFEE0011'],
])

# Columns in another order.
wb = openpyxl.Workbook()
ws = wb.active
ws.append(['学生学号', '学生姓名', 'IC卡号', '学生班级', '学校名称', '学校所在省份', '序号'])
ws.append(['20190007', '周子涵', None, '六年级(1)班', '武汉市育才小学', '湖北省', 7])
ws.append(['20190008', '吴承恩', '12345678', '六年级(1)班', '武汉市育才小学', '湖北省', 8])
wb.save(path('opx-column-order.xlsx'))
expect('opx-column-order', [
    [7, '湖北省', '武汉市育才小学', '周子涵', '六年级(1)班', '20190007', None],
    [8, '湖北省', '武汉市育才小学', '吴承恩', '六年级(1)班', '20190008', '12345678'],
])

# Whitespace and full-width characters, in the header and in the cells.
wb = openpyxl.Workbook()
ws = wb.active
ws.append([' 序号 ', '学校所在省份\u3000', '学校 名称', '学生姓名*', '学生\u3000班级', ' 学生学号', 'ＩＣ卡号'])
ws.append(['１', ' 北京市 ', '\u3000北京市海淀区中关村第一小学\u3000', '\u00a0何\u00a0', '三年级（２）班', '２０２３０１０', ' ａｂ１２ＣＤ３４ '])
ws.append([2, '北京市\t', '北京市海淀区中关村第一小学', '欧阳小明 ', ' 三年级(2)班', ' 2023011 ', None])
wb.save(path('opx-whitespace.xlsx'))
expect('opx-whitespace', [
    [1, '北京市', '北京市海淀区中关村第一小学', '何', '三年级(2)班', '2023010', 'AB12CD34'],
    [2, '北京市', '北京市海淀区中关村第一小学', '欧阳小明', '三年级(2)班', '2023011', None],
])

# No 序号 column: rows are numbered in file order.
wb = openpyxl.Workbook()
ws = wb.active
ws.append(HEADER[1:])
ws.append(['上海市', '上海市世界外国语小学', '钱多多', '一年级(1)班', 'S2024001', None])
ws.append(['上海市', '上海市世界外国语小学', '孔令仪', '一年级(1)班', 'S2024002', None])
wb.save(path('opx-no-seq.xlsx'))
expect('opx-no-seq', [
    [1, '上海市', '上海市世界外国语小学', '钱多多', '一年级(1)班', 'S2024001', None],
    [2, '上海市', '上海市世界外国语小学', '孔令仪', '一年级(1)班', 'S2024002', None],
])

# 1,000 rows: numbers as numbers, some student numbers as text with leading zeros.
SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高'
GIVEN = ['子涵', '欣怡', '梓萱', '浩宇', '雨桐', '一诺', '俊杰', '思远', '可馨', '宇轩']
wb = openpyxl.Workbook()
ws = wb.active
ws.append(HEADER)
expected = []
for i in range(1, 1001):
    name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 7) % len(GIVEN)]
    klass = '%d年级(%d)班' % (1 + (i % 6), 1 + (i // 100))
    if i % 3 == 0:
        student_no_cell = '%010d' % i
        student_no = student_no_cell
    else:
        student_no_cell = 2020000 + i
        student_no = str(student_no_cell)
    card = '%08X' % (0x10000000 + i * 7919) if i % 4 == 0 else None
    ws.append([i, '浙江省', '杭州市天长小学', name, klass, student_no_cell, card])
    expected.append([i, '浙江省', '杭州市天长小学', name, klass, student_no, card])
for row in ws.iter_rows(min_row=2, min_col=6, max_col=6):
    for cell in row:
        if isinstance(cell.value, str):
            cell.number_format = '@'
wb.save(path('opx-1000.xlsx'))
expect('opx-1000', expected)

# A header without 学生学号.
wb = openpyxl.Workbook()
ws = wb.active
ws.append([h for h in HEADER if h != '学生学号'])
ws.append([1, '浙江省', '杭州市文三街小学', '徐宇轩', '三年级(1)班', None])
wb.save(path('opx-missing-column.xlsx'))

# --- written as Microsoft Excel lays the parts out ------------------------------------

CT = '''<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>'''
ROOT_RELS = '''<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'''
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/'


def excel_like(name, sheets, shared_strings, drop=(), replace=None):
    """sheets: [(sheet name, sheetData xml)]; shared_strings: [<si> inner xml]."""
    wb = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook %s><sheets>' % NS]
    rels = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">']
    parts = {}
    for i, (sheet_name, data) in enumerate(sheets, start=1):
        wb.append('<sheet name="%s" sheetId="%d" r:id="rId%d"/>' % (sheet_name, i, i + 10))
        # Excel writes relative targets; some writers write absolute ones. Use both.
        target = 'worksheets/sheet%d.xml' % i if i % 2 else '/xl/worksheets/sheet%d.xml' % i
        rels.append('<Relationship Id="rId%d" Type="%sworksheet" Target="%s"/>' % (i + 10, REL, target))
        parts['xl/worksheets/sheet%d.xml' % i] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet %s>'
            '<dimension ref="A1:G9"/><sheetData>%s</sheetData></worksheet>' % (NS, data))
    wb.append('</sheets></workbook>')
    rels.append('<Relationship Id="rId3" Type="%ssharedStrings" Target="sharedStrings.xml"/>' % REL)
    rels.append('<Relationship Id="rId2" Type="%sstyles" Target="styles.xml"/></Relationships>' % REL)
    parts['xl/workbook.xml'] = ''.join(wb)
    parts['xl/_rels/workbook.xml.rels'] = ''.join(rels)
    parts['xl/sharedStrings.xml'] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst %s count="%d" uniqueCount="%d">%s</sst>'
        % (NS, len(shared_strings), len(shared_strings), ''.join('<si>%s</si>' % s for s in shared_strings)))
    parts['xl/styles.xml'] = '<?xml version="1.0"?><styleSheet %s/>' % NS
    parts['[Content_Types].xml'] = CT
    parts['_rels/.rels'] = ROOT_RELS
    if replace:
        parts.update(replace)
    with zipfile.ZipFile(path(name + '.xlsx'), 'w', zipfile.ZIP_DEFLATED) as z:
        for part, text in parts.items():
            if part not in drop:
                z.writestr(part, text)


SST = [
    '<t>序号</t>', '<t>学校所在省份</t>', '<t>学校名称</t>', '<t>学生姓名</t>', '<t>学生班级</t>',
    '<t>学生学号</t>', '<t>IC卡号</t>',                                  # 0-6
    '<t>浙江省</t>', '<t>温州市广场路小学</t>',                          # 7-8
    # rich text: runs concatenated; the phonetic run (rPh) is not part of the text
    '<r><rPr><b/><sz val="11"/><rFont val="宋体"/></rPr><t>郑</t></r><r><rPr><sz val="11"/></rPr>'
    '<t xml:space="preserve">小 </t></r><r><t>龙</t></r><rPh sb="0" eb="1"><t>zheng</t></rPh>'
    '<phoneticPr fontId="1" type="noConversion"/>',                      # 9
    '<t>三年级(2)班</t>',                                                # 10
    '<t xml:space="preserve">  0020190505  </t>',                       # 11
    '<t>钱_x0020_塘</t>',                                                # 12: OOXML escape
    '<r><t>三年级</t></r><r><rPr><i/></rPr><t>(3)班</t></r>',          # 13
    '<t>说明</t>',                                                       # 14
]
header_cells = ''.join('<c r="%s1" t="s"><v>%d</v></c>' % (col, i) for i, col in enumerate('ABCDEFG'))
sheet_data = (
    '<row r="1" spans="1:7">%s</row>' % header_cells +
    # numbers as numbers, the exponent form Excel writes for large or round values
    '<row r="2"><c r="A2"><v>1</v></c><c r="B2" t="s"><v>7</v></c><c r="C2" t="s"><v>8</v></c>'
    '<c r="D2" t="s"><v>9</v></c><c r="E2" t="s"><v>10</v></c><c r="F2"><v>1.0E+5</v></c></row>'
    # cells without r follow the previous one; a formula's cached string (t="str")
    '<row r="3"><c><v>2</v></c><c t="s"><v>7</v></c><c t="s"><v>8</v></c><c t="s"><v>12</v></c>'
    '<c t="s"><v>10</v></c><c t="s"><v>11</v></c><c t="str"><f>"AB"&amp;"CD0099"</f><v>ABCD0099</v></c></row>'
    # skipped cells: only some columns present, addressed by r; inline string; exponent
    '<row r="5"><c r="A5" t="n"><v>3</v></c><c r="B5" t="s"><v>7</v></c><c r="C5" t="s"><v>8</v></c>'
    '<c r="D5" t="inlineStr"><is><r><t>吴</t></r><r><t>一凡</t></r></is></c>'
    '<c r="E5" t="s"><v>13</v></c><c r="F5"><v>2.0230010000000001E+6</v></c><c r="H5"><v>42</v></c></row>'
    # an empty row element and a row of empty styled cells
    '<row r="6"/><row r="7"><c r="A7" s="1"/><c r="B7" s="1"/></row>'
    '<row r="8"><c r="G8" t="inlineStr"><is><t>01A2B3C4</t></is></c><c r="A8"><v>4</v></c>'
    '<c r="B8" t="s"><v>7</v></c><c r="C8" t="s"><v>8</v></c><c r="D8" t="inlineStr"><is><t>金_x000D_灿</t></is></c>'
    '<c r="E8" t="s"><v>10</v></c><c r="F8" t="inlineStr"><is><t>0020190506</t></is></c></row>'
)
excel_like('xl-excel', [('名单', sheet_data)], SST)
expect('xl-excel', [
    [1, '浙江省', '温州市广场路小学', '郑小 龙', '三年级(2)班', '100000', None],
    [2, '浙江省', '温州市广场路小学', '钱 塘', '三年级(2)班', '0020190505', 'ABCD0099'],
    [3, '浙江省', '温州市广场路小学', '吴一凡', '三年级(3)班', '2023001', None],
    # row 8: G8 comes before A8 in the file; each cell goes where its r says
    [4, '浙江省', '温州市广场路小学', '金\r灿', '三年级(2)班', '0020190506', '01A2B3C4'],
])

# The workbook names the shared strings, but the part is not in the zip.
excel_like('xl-missing-sst', [('名单', sheet_data)], SST, drop=('xl/sharedStrings.xml',))
# Malformed XML in the worksheet.
excel_like('xl-malformed', [('名单', '<row r="1">%s</row><row r="2"><c r="A2"><v>1</v></row>' % header_cells)],
           SST)
# No workbook part at all.
excel_like('xl-no-workbook', [('名单', sheet_data)], SST, drop=('xl/workbook.xml',))

# Not a zip, but named .xlsx; and a zip cut in the middle (a download that stopped).
with open(path('not-a-zip.xlsx'), 'w', encoding='utf-8') as f:
    f.write('序号,学校所在省份\n1,浙江省\n')
with open(path('opx-1000.xlsx'), 'rb') as f:
    data = f.read()
with open(path('truncated.xlsx'), 'wb') as f:
    f.write(data[:len(data) * 6 // 10])

# --- CSV -------------------------------------------------------------------------------

CSV_ROWS = [
    [1, '浙江省', '杭州市学军小学', '沈佳怡', '五年级(1)班', '0020180001', None],
    [2, '浙江省', '杭州市学军小学', '韩"小"雪', '五年级(1)班', '20180002', None],
    [3, '浙江省', '杭州市学军小学', '曹 宇, 航', '五年级(1)班', '20180003', 'ABCDEF01'],
]


def csv_field(v):
    if v is None:
        return ''
    s = str(v)
    if any(c in s for c in ',"\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


csv_text = '\r\n'.join(','.join(csv_field(v) for v in r) for r in [HEADER] + CSV_ROWS) + '\r\n'
with open(path('utf8-bom.csv'), 'wb') as f:
    f.write(b'\xef\xbb\xbf' + csv_text.encode('utf-8'))
expect('utf8-bom', CSV_ROWS)
with open(path('gb18030.csv'), 'wb') as f:
    f.write(csv_text.encode('gb18030'))
expect('gb18030', CSV_ROWS)

# Quoted fields with a newline, an empty line, LF line ends, no BOM.
quoted = ('序号,学校所在省份,学校名称,学生姓名,学生班级,学生学号,IC卡号\n'
          '1,浙江省,"杭州市,学军小学",沈佳怡,"五年级\n(1)班",0020180001,\n'
          '\n'
          '"2","浙江省","杭州市学军小学","韩""小""雪","五年级(1)班","20180002",""\n')
with open(path('quoted.csv'), 'w', encoding='utf-8', newline='') as f:
    f.write(quoted)
expect('quoted', [
    [1, '浙江省', '杭州市,学军小学', '沈佳怡', '五年级\n(1)班', '0020180001', None],
    [2, '浙江省', '杭州市学军小学', '韩"小"雪', '五年级(1)班', '20180002', None],
])

# --- .xls (Excel 97-2003), written by xlwt when it is installed (python3-xlwt) ----------------
try:
    import xlwt
except ImportError:
    xlwt = None

if xlwt is not None:
    book = xlwt.Workbook(encoding='utf-8')
    notes = book.add_sheet('说明')
    notes.write(0, 0, '学生名单见第二个工作表')
    sheet = book.add_sheet('名单')
    text = xlwt.easyxf(num_format_str='@')
    for c, h in enumerate(['学生姓名', '序号', '学校所在省份', '学校名称', '学生班级', '学生学号', 'IC卡号']):
        sheet.write(0, c, h)
    xls_rows = [
        ['陆小凤', 1, '福建省', '厦门市演武小学', '三年级(1)班', 2023001, None],
        ['花满楼', 2, '福建省', '厦门市演武小学', '三年级(1)班', '0020230002', 'DEADBEEF'],
        ['\u3000司空摘星 ', 3.0, ' 福建省', '厦门市演武小学', '三年级（２）班', 2023003.0, ''],
    ]
    for r, row in enumerate(xls_rows, start=2):  # a blank row 1 between header and data
        for c, value in enumerate(row):
            if value is None:
                continue
            if c in (5, 6) and isinstance(value, str):
                sheet.write(r, c, value, text)
            else:
                sheet.write(r, c, value)
    book.save(path('xls-basic.xls'))
    expect('xls-basic', [
        [1, '福建省', '厦门市演武小学', '陆小凤', '三年级(1)班', '2023001', None],
        [2, '福建省', '厦门市演武小学', '花满楼', '三年级(1)班', '0020230002', 'DEADBEEF'],
        [3, '福建省', '厦门市演武小学', '司空摘星', '三年级(2)班', '2023003', None],
    ])
