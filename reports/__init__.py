"""Reports as data (sections, tables, totals) and their renderers:
XLSX, HTML, CSV and JSON, in English, French and Spanish.
May use ``ledger``'s value types; never writes to the database.
"""
