"""PDFs with active content, made at test time, and an independent probe for it.

:func:`add_active_content` puts into a clean PDF (bytes) one specimen of each kind asked for
(the codes of :data:`engine.pdf_sanitize.ACTIVE_KINDS`), on the document and on one page::

    dirty = active_pdf.add_active_content(clean, ("javascript", "open_action"), page=1)

:func:`active_names` reads a PDF with pypdf (not MuPDF, which the engine uses) and returns
the active-content names it still finds (/JS, /JavaScript, /OpenAction, /AA, /Launch,
/EmbeddedFiles, /EmbeddedFile, /XFA, /RichMedia, ...), as keys, action types or annotation
subtypes, anywhere in the file's objects. No pytest imports here: the Odoo tests use it too.
"""

import io

import pymupdf

from ..pdf_sanitize import ACTIVE_KINDS

SCRIPT = b"app.alert('active content');"
PAYLOAD = b"MZ not really a program, but it should not travel in a signed document"

# what the probe looks for: entries, action types (/S) and annotation subtypes (/Subtype)
PROBE_KEYS = frozenset(
    {
        "JS",
        "JavaScript",
        "OpenAction",
        "AA",
        "EmbeddedFiles",
        "EF",
        "XFA",
        "RichMediaContent",
        "RichMediaSettings",
        "Collection",
        "NeedsRendering",
    }
)
PROBE_ACTIONS = frozenset(
    {
        "JavaScript",
        "Launch",
        "SubmitForm",
        "ImportData",
        "GoToR",
        "GoToE",
        "Rendition",
        "Movie",
        "Sound",
        "GoTo3DView",
        "RichMediaExecute",
    }
)
PROBE_SUBTYPES = frozenset({"FileAttachment", "RichMedia", "Screen", "Movie", "Sound", "3D"})
SAFE_SCHEMES = ("http:", "https:", "mailto:", "tel:")


def add_active_content(data, kinds=ACTIVE_KINDS, page=1, use_objstms=False):
    """``data`` (a clean PDF) with one specimen of each of ``kinds``; the page ones go on
    ``page`` (1-based). ``use_objstms`` hides the dictionaries in compressed object streams."""
    doc = pymupdf.open(stream=data, filetype="pdf")
    try:
        builder = _Builder(doc, doc[page - 1])
        for kind in kinds:
            getattr(builder, kind)()
        return doc.tobytes(garbage=1, use_objstms=int(bool(use_objstms)), deflate=bool(use_objstms))
    finally:
        doc.close()


class _Builder:
    def __init__(self, doc, page):
        self.doc = doc
        self.page = page
        self.catalog = doc.pdf_catalog()
        self.next_y = 40

    def _object(self, source, stream=None):
        xref = self.doc.get_new_xref()
        self.doc.update_object(xref, source)
        if stream is not None:
            self.doc.update_stream(xref, stream)
        return xref

    def _script(self):
        return self._object("<< >>", SCRIPT)

    def _rect(self):
        """A fresh 60x20 rectangle in the page's PDF coordinates, down the left margin."""
        y = self.next_y
        self.next_y += 30
        height = self.page.mediabox.height
        return f"[20 {height - y - 20:g} 80 {height - y:g}]"

    def _annotation(self, body):
        xref = self._object(f"<< /Type /Annot /Rect {self._rect()} {body} >>")
        kind, annots = self.doc.xref_get_key(self.page.xref, "Annots")
        if kind == "array":
            self.doc.xref_set_key(self.page.xref, "Annots", annots[:-1].rstrip() + f" {xref} 0 R]")
        elif kind == "xref":  # an indirect array
            target = int(annots.split()[0])
            array = self.doc.xref_object(target, compressed=True)
            self.doc.update_object(target, array[:-1].rstrip() + f" {xref} 0 R]")
        else:
            self.doc.xref_set_key(self.page.xref, "Annots", f"[{xref} 0 R]")
        return xref

    def _link(self, action):
        return self._annotation(f"/Subtype /Link /Border [0 0 0] /A {action}")

    def _catalog_names(self, key, value):
        kind, names = self.doc.xref_get_key(self.catalog, "Names")
        if kind == "null":
            self.doc.xref_set_key(self.catalog, "Names", "<< >>")
        elif kind == "xref":
            raise NotImplementedError("an indirect /Names dictionary")
        self.doc.xref_set_key(self.catalog, f"Names/{key}", value)

    # --- one method per kind --------------------------------------------------------------
    def javascript(self):
        action = self._object(f"<< /Type /Action /S /JavaScript /JS {self._script()} 0 R >>")
        self._catalog_names("JavaScript", f"<< /Names [(init) {action} 0 R] >>")
        self._link(f"<< /S /JavaScript /JS ({SCRIPT.decode()}) >>")

    def open_action(self):
        self.doc.xref_set_key(
            self.catalog, "OpenAction", f"<< /S /JavaScript /JS {self._script()} 0 R >>"
        )

    def additional_actions(self):
        script = f"{self._script()} 0 R"
        self.doc.xref_set_key(self.catalog, "AA", f"<< /WC << /S /JavaScript /JS {script} >> >>")
        self.doc.xref_set_key(self.page.xref, "AA", f"<< /O << /S /JavaScript /JS {script} >> >>")

    def launch(self):
        self._link("<< /S /Launch /F (calc.exe) /Win << /F (cmd.exe) /P (/c calc) >> >>")

    def embedded_file(self):
        stored = self._object("<< /Type /EmbeddedFile >>", PAYLOAD)
        self._catalog_names(
            "EmbeddedFiles",
            f"<< /Names [(payload.exe) << /Type /Filespec /F (payload.exe) /EF << /F {stored} 0 R"
            " >> >>] >>",
        )
        attached = self._object("<< /Type /EmbeddedFile >>", PAYLOAD)
        annotation = self._annotation(
            f"/Subtype /FileAttachment /Name /PushPin /FS << /Type /Filespec /F (note.exe)"
            f" /EF << /F {attached} 0 R >> >>"
        )
        popup = self._object(
            f"<< /Type /Annot /Subtype /Popup /Rect {self._rect()} /Parent {annotation} 0 R >>"
        )
        self.doc.xref_set_key(annotation, "Popup", f"{popup} 0 R")

    def xfa(self):
        template = self._object("<< >>", b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'/>")
        self.doc.xref_set_key(
            self.catalog, "AcroForm", f"<< /Fields [] /XFA [(template) {template} 0 R] >>"
        )
        self.doc.xref_set_key(self.catalog, "NeedsRendering", "true")

    def rich_media(self):
        asset = self._object("<< /Type /EmbeddedFile >>", PAYLOAD)
        self._annotation(
            "/Subtype /RichMedia /RichMediaContent << /Assets << /Names [(movie.swf)"
            f" << /Type /Filespec /F (movie.swf) /EF << /F {asset} 0 R >> >>] >> >>"
            " /RichMediaSettings << /Activation << /Condition /PO >> >>"
        )

    def multimedia(self):
        screen = self._annotation("/Subtype /Screen")
        self.doc.xref_set_key(
            screen, "A", f"<< /S /Rendition /OP 0 /AN {screen} 0 R /JS ({SCRIPT.decode()}) >>"
        )
        sound = self._object("<< /R 8000 >>", b"\x00" * 16)
        self._annotation(f"/Subtype /Sound /Sound {sound} 0 R")

    def form_submission(self):
        self._link(
            "<< /S /SubmitForm /F << /FS /URL /F (https://collect.example/form) >> /Flags 4 >>"
        )

    def remote_goto(self):
        self._link("<< /S /GoToR /F (other.pdf) /D [0 /Fit] /NewWindow true >>")

    def unsafe_link(self):
        self._link("<< /S /URI /URI (javascript:app.alert\\(1\\)) >>")


# --- the independent probe ----------------------------------------------------------------
def active_names(data):
    """The active-content names pypdf finds in ``data``: a sorted list such as
    ``["/AA", "/S /JavaScript", "/Subtype /FileAttachment", "/URI javascript:..."]``;
    [] when none. A /OpenAction counts whatever it holds."""
    import pypdf  # noqa: PLC0415 - only the tests need it
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject  # noqa: PLC0415

    reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
    found = set()
    roots = [reader.trailer]
    for number, generation in _object_ids(reader):
        try:
            roots.append(reader.get_object(IndirectObject(number, generation, reader)))
        except Exception:  # noqa: BLE001 - a free or broken entry holds nothing
            continue
    for root in roots:
        stack = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, IndirectObject):
                continue
            if isinstance(node, DictionaryObject):
                for key, value in node.items():
                    name = str(key)[1:]
                    if name in PROBE_KEYS:
                        found.add(str(key))
                    stack.append(value)
                action = _name(node, "/S")
                if action in PROBE_ACTIONS:
                    found.add(f"/S /{action}")
                subtype = _name(node, "/Subtype")
                if subtype in PROBE_SUBTYPES:
                    found.add(f"/Subtype /{subtype}")
                if _name(node, "/Type") == "EmbeddedFile":
                    found.add("/Type /EmbeddedFile")
                if action == "URI":
                    uri = str(node["/URI"]) if "/URI" in node else ""
                    if not uri.strip().lower().startswith(SAFE_SCHEMES):
                        found.add(f"/URI {uri}")
            elif isinstance(node, ArrayObject):
                stack.extend(node)
    return sorted(found)


def _name(node, key):
    """The name at ``key`` of the pypdf dictionary ``node`` (resolved), without its slash."""
    if key not in node:
        return ""
    value = node[key]  # __getitem__ resolves an indirect value
    text = str(value)
    return text[1:] if text.startswith("/") else ""


def _object_ids(reader):
    """(number, generation) of every object in the reader's cross-reference data."""
    ids = set()
    for generation, numbers in reader.xref.items():
        ids.update((number, generation) for number in numbers)
    ids.update((number, 0) for number in reader.xref_objStm)
    return sorted(ids)
