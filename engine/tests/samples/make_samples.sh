#!/bin/sh
# Regenerate the committed sample PDFs from their sources (run from anywhere).
#   libreoffice_anchors.pdf  <- libreoffice_anchors.fodt  (LibreOffice Writer PDF export)
#   wkhtmltopdf_links.pdf    <- wkhtmltopdf_links.html    (wkhtmltopdf, A4, like Odoo reports)
# Needs: libreoffice, wkhtmltopdf, the DejaVu and Liberation fonts (Debian: fonts-dejavu-core,
# fonts-liberation). The tests read the PDFs; they never run this script.
set -eu
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

libreoffice --headless -env:UserInstallation="file://$work/profile" \
    --convert-to pdf:writer_pdf_Export --outdir "$work" libreoffice_anchors.fodt >/dev/null
mv "$work/libreoffice_anchors.pdf" libreoffice_anchors.pdf

wkhtmltopdf --quiet --enable-local-file-access --page-size A4 --dpi 96 \
    --margin-top 20mm --margin-bottom 20mm --margin-left 15mm --margin-right 15mm \
    wkhtmltopdf_links.html wkhtmltopdf_links.pdf 2>/dev/null

ls -l libreoffice_anchors.pdf wkhtmltopdf_links.pdf
