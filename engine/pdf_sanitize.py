"""Active content in a PDF: finding it, and removing it at intake.

A document to be signed must show the same thing to everyone and do nothing by itself, so
whatever can run, submit, launch or carry another file is removed from an upload before
anyone sees it, and the final document is checked again before it is sealed. The kinds, as
stable codes (:data:`ACTIVE_KINDS`, translated on the Odoo side):

``javascript``
    the document's scripts (the /Names /JavaScript tree), JavaScript actions wherever they
    hang (links, bookmarks, form fields, /Next chains), any stray /JS entry;
``open_action``
    an action run when the document opens (the catalog's /OpenAction). A plain destination
    there ("open at page 1, fit width", as LibreOffice writes it) is a view setting and stays;
``additional_actions``
    /AA, the actions triggered by events (opening a page, focusing a field, closing or
    printing the document...) of the catalog, pages, annotations and form fields, whatever
    they do;
``launch``
    Launch actions (run a program, open a file);
``embedded_file``
    embedded files: the /EmbeddedFiles tree, file attachment annotations, the /EF stream of
    any file specification, /EmbeddedFile streams, portfolios (/Collection);
``xfa``
    XFA forms (/AcroForm /XFA, with /NeedsRendering);
``rich_media``
    RichMedia annotations and RichMediaExecute actions;
``multimedia``
    Screen, Movie, Sound and 3D annotations; Rendition, Movie, Sound and GoTo3DView actions;
``form_submission``
    SubmitForm and ImportData actions (send the form's data somewhere, load data into it);
``remote_goto``
    GoToR and GoToE actions (open another document, or one embedded in this one);
``unsafe_link``
    URI actions whose address is not ``http``, ``https``, ``mailto`` or ``tel``
    (``javascript:``, ``file:``, ``data:``, relative addresses...).

Plain links stay: http(s), mailto and tel URIs (the report anchors of :mod:`.pdf_markers` are
such links), GoTo within the document, named actions (next page, print...), as do bookmarks
and form fields themselves (only their actions go).

How: MuPDF is the one parser, as for every other step (intake, stamping, the final document),
so what is checked is what the final document is built from. A fast pass prints each object's
dictionary (object streams included: MuPDF has parsed them) and looks for the names above; a
file without any is clean and is returned as the very same bytes (no rewrite, its hash
unchanged). Otherwise every object, the trailer included, is walked: the entries listed are
deleted, and so is every reference to an object that is itself active (an action of a kind
above, an annotation of a kind above, an /EmbeddedFile stream), wherever it sits (an
annotation's /A, a popup's /Parent, a /Next array, /Annots...). One full save with garbage
collection then leaves out everything no longer referenced (the scripts' streams, the files),
and the result is checked again: anything still found refuses the file (``pdf_active_content``).

Locations: an item is reported on the first page whose objects lead to it (its annotations,
their actions and files; not through /Parent or /P), else on the document (page ``None``).
Results are sets of ``(kind, page)``: "JavaScript on the document and on page 2".
"""

import re
from dataclasses import dataclass

import pymupdf

from .errors import PdfInvalid
from .mupdf_lock import serialized
from .pdf_intake import has_encryption, open_document
from .pdf_stamp import save

ACTIVE_KINDS = (
    "javascript",
    "open_action",
    "additional_actions",
    "launch",
    "embedded_file",
    "xfa",
    "rich_media",
    "multimedia",
    "form_submission",
    "remote_goto",
    "unsafe_link",
)
SAFE_URI_SCHEMES = ("http", "https", "mailto", "tel")

# An action's /S -> (kind, the entries of which at least one makes it do something)
_ACTIONS = {
    "JavaScript": ("javascript", ("JS",)),
    "Launch": ("launch", ("F", "Win", "Mac", "Unix")),
    "SubmitForm": ("form_submission", ("F",)),
    "ImportData": ("form_submission", ("F",)),
    "GoToR": ("remote_goto", ("F", "D")),
    "GoToE": ("remote_goto", ("F", "T", "D")),
    "Rendition": ("multimedia", ("R", "JS", "AN", "OP")),
    "Movie": ("multimedia", ("Annotation", "T")),
    "Sound": ("multimedia", ("Sound",)),
    "GoTo3DView": ("multimedia", ("TA", "V")),
    "RichMediaExecute": ("rich_media", ("TA", "TI", "CMD")),
    "URI": ("unsafe_link", ("URI",)),  # only when the address is not a safe one
}
# An annotation's /Subtype -> kind
_ANNOTATIONS = {
    "FileAttachment": "embedded_file",
    "RichMedia": "rich_media",
    "Screen": "multimedia",
    "Movie": "multimedia",
    "Sound": "multimedia",
    "3D": "multimedia",
}
# Entries deleted wherever they are found -> kind reported
_KEYS = {
    "AA": "additional_actions",
    "JavaScript": "javascript",  # the name tree of the document's scripts
    "JS": "javascript",
    "EmbeddedFiles": "embedded_file",
    "EF": "embedded_file",
    "Collection": "embedded_file",
    "XFA": "xfa",
}
_NOT_A_WAY_DOWN = frozenset({"Parent", "P"})  # keys that lead back up, for the locations
_MAX_DEPTH = 200  # direct objects nested deeper than this are refused (MuPDF nests far less)

_TRIGGERS = (
    set(_ACTIONS)
    | set(_ANNOTATIONS)
    | set(_KEYS)
    | {"OpenAction", "NeedsRendering", "EmbeddedFile"}
)
# a name (as MuPDF prints it: no #-escapes for these) followed by a delimiter
_TRIGGER_RE = re.compile(
    r"/(?:%s)(?![^\s()<>\[\]{}/%%])" % "|".join(sorted(_TRIGGERS, key=len, reverse=True))
)
_URI_SCHEME_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.\-]*):")

_mupdf = pymupdf.mupdf


@dataclass(frozen=True)
class ActiveContent:
    """One kind of active content found on one page (``page`` 1-based) or on the document
    as a whole (``page`` None)."""

    kind: str  # one of ACTIVE_KINDS
    page: int | None = None


@dataclass(frozen=True)
class Sanitized:
    """The result of :func:`sanitize_pdf`: ``data`` is the input itself (the same bytes) when
    ``removed`` is empty."""

    data: bytes
    removed: tuple  # of ActiveContent, sorted

    @property
    def changed(self):
        return bool(self.removed)


@serialized
def find_active_content(data):
    """The active content of the PDF ``data`` (bytes), as a sorted tuple of
    :class:`ActiveContent`; empty when there is none.

    :raise PdfInvalid: the PDF cannot be opened (``pdf_damaged``, ``pdf_encrypted``...)
    """
    doc = open_document(data)
    try:
        return _scan(doc, remove=False)
    finally:
        doc.close()


@serialized
def sanitize_pdf(data):
    """Remove the active content of ``data``, a PDF accepted by
    :func:`~.pdf_intake.inspect_pdf`.

    :return: :class:`Sanitized`; a clean input comes back as the same bytes object
    :raise PdfInvalid: ``pdf_active_content`` when something active survives the removal
        (the file is refused rather than kept), or the codes of
        :func:`~.pdf_intake.open_document`
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    doc = open_document(data)
    try:
        if has_encryption(doc):  # even without a user password: never rewritten, never kept
            raise PdfInvalid("encrypted", code="pdf_encrypted")
        removed = _scan(doc, remove=True)
        if not removed:
            return Sanitized(data=data, removed=())
        page_count = doc.page_count
        clean = save(doc)
    finally:
        doc.close()
    check = open_document(clean)
    try:
        left = _scan(check, remove=False)
        pages = check.page_count
    finally:
        check.close()
    if left or pages != page_count:
        raise PdfInvalid(
            f"active content left after removal: {left}; pages {page_count} -> {pages}",
            code="pdf_active_content",
            kinds=tuple(dict.fromkeys(item.kind for item in left)),
        )
    return Sanitized(data=clean, removed=removed)


def refuse_active_content(data):
    """The check before sealing: raise :class:`~.errors.PdfInvalid` ``final_active_content``
    (params: kinds, codes of :data:`ACTIVE_KINDS`) when the PDF ``data`` carries any."""
    found = find_active_content(data)
    if found:
        raise PdfInvalid(
            f"active content: {found}",
            code="final_active_content",
            kinds=tuple(dict.fromkeys(item.kind for item in found)),
        )


def summarize(items):
    """``items`` (ActiveContent) grouped by kind, in the order of :data:`ACTIVE_KINDS`:
    ``[{"kind": "javascript", "document": True, "pages": [2, 5]}, ...]`` (plain values, for
    JSON)."""
    by_kind = {}
    for item in items:
        entry = by_kind.setdefault(item.kind, {"kind": item.kind, "document": False, "pages": []})
        if item.page is None:
            entry["document"] = True
        elif item.page not in entry["pages"]:
            entry["pages"].append(item.page)
    order = {kind: index for index, kind in enumerate(ACTIVE_KINDS)}
    result = sorted(by_kind.values(), key=lambda entry: order.get(entry["kind"], len(order)))
    for entry in result:
        entry["pages"].sort()
    return result


# --- the scan -----------------------------------------------------------------------------
def _scan(doc, remove):
    try:
        pdf = _mupdf.pdf_document_from_fz_document(doc.this)
        if not _suspects(doc, pdf):
            return ()
        return _Walker(pdf, remove).run()
    except PdfInvalid:
        raise
    except Exception as exc:  # an object MuPDF cannot read cannot be vouched for
        raise PdfInvalid(f"unreadable: {type(exc).__name__}: {exc}", code="pdf_damaged") from None


def _suspects(doc, pdf):
    """Whether any object may hold active content: the fast pass over the printed objects,
    then the exact walk of the objects that name something active."""
    walker = _Walker(pdf, remove=False)
    for xref in range(doc.xref_length()):
        if xref == 0:
            text = doc.pdf_trailer(compressed=True)
        elif not _mupdf.pdf_object_exists(pdf, xref):
            continue  # a free entry
        else:
            text = doc.xref_object(xref, compressed=True)
        if not _TRIGGER_RE.search(text):
            continue
        obj = _mupdf.pdf_trailer(pdf) if xref == 0 else _mupdf.pdf_load_object(pdf, xref)
        if not (_mupdf.pdf_is_dict(obj) or _mupdf.pdf_is_array(obj)):
            return True  # e.g. an indirect /JavaScript name, for an indirect /S
        walker.visit(obj, None)
        if walker.found or walker.dangerous(obj):
            return True
    return False


class _Walker:
    """Walks objects' direct content; reports ``(kind, page)`` in :attr:`found` and, when
    ``remove`` is set, deletes what it reports and every reference to an active object."""

    def __init__(self, pdf, remove):
        self.pdf = pdf
        self.remove = remove
        self.found = set()

    def run(self):
        locations = self._locations()
        count = _mupdf.pdf_xref_len(self.pdf)
        self.visit(_mupdf.pdf_trailer(self.pdf), None)
        for num in range(1, count):
            if not _mupdf.pdf_object_exists(self.pdf, num):
                continue
            obj = _mupdf.pdf_load_object(self.pdf, num)
            page = locations.get(num)
            for kind in self.dangerous(obj):
                self.found.add(ActiveContent(kind, page))
            self.visit(obj, page)
        return tuple(sorted(self.found, key=_sort_key))

    # --- what is active -------------------------------------------------------------------
    def dangerous(self, obj):
        """The kinds ``obj`` (resolved) is by itself: an active action or annotation, an
        embedded file stream; () otherwise."""
        if not _mupdf.pdf_is_dict(obj):
            return ()
        if self._name(obj, "Type") == "EmbeddedFile":
            return ("embedded_file",)
        subtype = self._name(obj, "Subtype")
        if subtype in _ANNOTATIONS:  # these subtypes name nothing else but RichMedia parts
            return (_ANNOTATIONS[subtype],)
        # An action is known by its /S and by what it needs to do anything (/Type is
        # optional and a viewer does not read it): a structure element whose type is named
        # like an action has none of that.
        action = self._name(obj, "S")
        if action not in _ACTIONS:
            return ()
        found, keys = _ACTIONS[action]
        if not any(_has(obj, key) for key in keys):
            return ()
        if action == "URI" and _safe_uri(_mupdf.pdf_dict_gets(obj, "URI")):
            return ()
        if action == "Rendition" and _has(obj, "JS"):
            return (found, "javascript")
        return (found,)

    def _name(self, obj, key):
        value = _mupdf.pdf_dict_gets(obj, key)
        return _mupdf.pdf_to_name(value) if _mupdf.pdf_is_name(value) else ""

    # --- the walk -------------------------------------------------------------------------
    def visit(self, obj, page, depth=0):
        """Walk the direct content of ``obj``; report, and delete in remove mode."""
        if _mupdf.pdf_is_indirect(obj) and depth:
            return
        if depth > _MAX_DEPTH:
            raise PdfInvalid("objects nested too deeply", code="pdf_damaged")
        if _mupdf.pdf_is_dict(obj):
            self._visit_dict(obj, page, depth)
        elif _mupdf.pdf_is_array(obj):
            self._visit_array(obj, page, depth)

    def _visit_dict(self, obj, page, depth):
        entries = [
            (
                _mupdf.pdf_to_name(_mupdf.pdf_dict_get_key(obj, index)),
                _mupdf.pdf_dict_get_val(obj, index),
            )
            for index in range(_mupdf.pdf_dict_len(obj))
        ]
        drop = []
        for key, value in entries:
            active = self._is_active_value(value, page)
            if key in _KEYS:
                self.found.add(ActiveContent(_KEYS[key], page))
            elif key == "OpenAction" and _mupdf.pdf_is_dict(value):  # an action, not a view
                self.found.add(ActiveContent("open_action", page))
            elif key == "NeedsRendering" and _mupdf.pdf_to_bool(value):  # XFA only
                self.found.add(ActiveContent("xfa", page))
            elif not active:
                continue
            drop.append(key)
        for _key, value in entries:
            self.visit(value, page, depth + 1)  # deleted or not: report what is inside
        if self.remove:
            for key in drop:
                _mupdf.pdf_dict_dels(obj, key)

    def _visit_array(self, obj, page, depth):
        items = [_mupdf.pdf_array_get(obj, index) for index in range(_mupdf.pdf_array_len(obj))]
        drop = [index for index, item in enumerate(items) if self._is_active_value(item, page)]
        for item in items:
            self.visit(item, page, depth + 1)
        if self.remove:
            for index in reversed(drop):
                _mupdf.pdf_array_delete(obj, index)

    def _is_active_value(self, value, page):
        """Whether ``value`` is (or refers to) an active object, to be cut off. A direct one
        is reported here; an indirect one is reported when its own object is walked."""
        kinds = self.dangerous(value)
        if kinds and not _mupdf.pdf_is_indirect(value):
            for kind in kinds:
                self.found.add(ActiveContent(kind, page))
        return bool(kinds)

    # --- locations ------------------------------------------------------------------------
    def _locations(self):
        """``{object number: page}`` for the objects first reached from each page (1-based),
        not going back up through /Parent or /P, nor into other pages."""
        pages = {}
        for index in range(_mupdf.pdf_count_pages(self.pdf)):
            page_obj = _mupdf.pdf_lookup_page_obj(self.pdf, index)
            if _mupdf.pdf_is_indirect(page_obj):
                pages.setdefault(_mupdf.pdf_to_num(page_obj), index + 1)
        locations = dict(pages)
        for num, number in sorted(pages.items(), key=lambda item: item[1]):
            queue = [num]
            while queue:
                current = queue.pop()
                for ref in _references(_mupdf.pdf_load_object(self.pdf, current)):
                    if ref not in locations:
                        locations[ref] = number
                        queue.append(ref)
        return locations


def _references(obj):
    """Object numbers referred to by the direct content of ``obj`` (not through /Parent or
    /P)."""
    found = []
    stack = [(obj, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise PdfInvalid("objects nested too deeply", code="pdf_damaged")
        if depth and _mupdf.pdf_is_indirect(node):
            found.append(_mupdf.pdf_to_num(node))
            continue
        if _mupdf.pdf_is_dict(node):
            for index in range(_mupdf.pdf_dict_len(node)):
                key = _mupdf.pdf_to_name(_mupdf.pdf_dict_get_key(node, index))
                if key not in _NOT_A_WAY_DOWN:
                    stack.append((_mupdf.pdf_dict_get_val(node, index), depth + 1))
        elif _mupdf.pdf_is_array(node):
            for index in range(_mupdf.pdf_array_len(node)):
                stack.append((_mupdf.pdf_array_get(node, index), depth + 1))
    return found


def _has(obj, key):
    return not _mupdf.pdf_is_null(_mupdf.pdf_dict_gets(obj, key))


def _safe_uri(value):
    if not (_mupdf.pdf_is_string(value)):
        return False
    match = _URI_SCHEME_RE.match(_mupdf.pdf_to_text_string(value))
    return bool(match) and match.group(1).lower() in SAFE_URI_SCHEMES


def _sort_key(item):
    order = ACTIVE_KINDS.index(item.kind) if item.kind in ACTIVE_KINDS else len(ACTIVE_KINDS)
    return (order, item.page is not None, item.page or 0)
