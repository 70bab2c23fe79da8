// Package csvsafe writes CSV that a spreadsheet opens as text. A cell
// beginning with =, +, -, @, a tab or a carriage return is read by Excel,
// LibreOffice and Google Sheets as a formula (OWASP "CSV injection"): a
// group or reason of "=HYPERLINK(...)" would run when an auditor opens the
// report. Such a cell is prefixed with a single quote. The web export,
// GET /api/v1/report?format=csv and "bootproof report --format csv" all
// write through this one Writer.
package csvsafe
