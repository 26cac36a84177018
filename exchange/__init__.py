"""Cohort lists in and out: reading and validating spreadsheets (spreadsheet), planning and
applying an import (importing), the import templates (import_template), exports and the
print snapshot (exporting), with their pages (routes, forms) and `flask cohort import|export` (cli)."""
