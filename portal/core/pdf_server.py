"""Imported once by the PDF renderer's fork server (see portal.core.pdf): WeasyPrint and the
fonts are loaded there, so every rendering child forked from the server starts warm."""

from portal.core import pdf

pdf.load_main_script()
pdf.isolate_fonts()
pdf._warm_up()
