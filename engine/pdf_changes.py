"""What the incremental updates after a seal changed, in words a reader of the verification
page understands: a page added or removed, the content of a page changed, annotations or
form values changed, another signature added.

This only describes. Whether a change is allowed after a seal is pyHanko's difference
analysis' call (``pades_verify.verify_pdf``); this module runs when that analysis already
said the file changed, on the revisions after the last one we issued. It compares the
structure each revision leaves (the page tree, each page's content and resources,
annotations, form values) with the one before, reading no stream data (nothing is decoded),
and visits a bounded number of objects per revision.
"""

from dataclasses import dataclass

from pyhanko.pdf_utils import generic

CHANGE_KINDS = (
    "signature_added",  # another signature (``signer``: its certificate's subject)
    "page_added",  # ``count`` pages added
    "page_removed",  # ``count`` pages removed
    "page_content",  # what page ``page`` shows (its content, resources or boxes) changed
    "annotations",  # annotations (comments, stamps, links, form widgets) on page ``page``
    "form_fields",  # form fields added, filled in or changed (empty signature fields too)
    "other",  # anything else (catalog entries, actions, structure)
)
MAX_OBJECTS = 200_000  # objects looked at per revision
_BACK_LINKS = frozenset({"/Parent", "/P", "/Annots"})  # not followed: they lead everywhere
_PAGE_SKIPPED = frozenset({"/Parent", "/Annots", "/Contents", "/Resources", "/Type"})


@dataclass(frozen=True)
class Change:
    kind: str  # one of CHANGE_KINDS
    page: int = 0  # 1-based page number in the changed file (page_content, annotations)
    count: int = 0  # pages added or removed
    signer: str = ""  # RFC 4514 subject of the certificate of a signature added


def _key(obj):
    """``(idnum, generation)`` of an indirect object, else None."""
    if isinstance(obj, generic.IndirectObject):
        return obj.idnum, obj.generation
    return None


def _resolve(obj):
    return obj.get_object() if isinstance(obj, generic.IndirectObject) else obj


def _items(obj):
    return dict.items(obj) if isinstance(obj, generic.DictionaryObject) else ()


def _elements(obj):
    return list.__iter__(obj) if isinstance(obj, generic.ArrayObject) else iter(())


def _dump(obj, depth=0):
    """A comparable text of a direct object (indirect ones by reference)."""
    key = _key(obj)
    if key is not None:
        return f"{key[0]} {key[1]} R"
    if depth > 8:
        return "..."
    if isinstance(obj, generic.DictionaryObject):
        return (
            "<<"
            + " ".join(f"{name} {_dump(value, depth + 1)}" for name, value in sorted(_items(obj)))
            + ">>"
        )
    if isinstance(obj, generic.ArrayObject):
        return "[" + " ".join(_dump(value, depth + 1) for value in _elements(obj)) + "]"
    return repr(obj)[:200]


class _Budget:
    def __init__(self):
        self.left = MAX_OBJECTS

    def take(self):
        self.left -= 1
        return self.left >= 0


@dataclass(frozen=True)
class _Page:
    contents: tuple  # references of its content streams (dumps of anything else)
    raw_contents: tuple  # the raw /Contents values
    resources: object  # raw /Resources value
    attributes: str  # dump of its other entries (boxes, rotation...)
    annotations: tuple  # (reference or dump, raw annotation), signature widgets left out


def _is_signature_widget(annotation):
    if annotation.get("/FT") == "/Sig":
        return True
    parent = annotation.get("/Parent")
    return isinstance(parent, generic.DictionaryObject) and parent.get("/FT") == "/Sig"


def _page(page):
    raw = page.raw_get("/Contents") if "/Contents" in page else None
    raw_contents = (
        tuple(_elements(_resolve(raw)))
        if isinstance(_resolve(raw), generic.ArrayObject)
        else (raw,)
    )
    contents = tuple(_key(item) or _dump(item) for item in raw_contents)
    annotations = []
    for raw in _elements(_resolve(page.raw_get("/Annots")) if "/Annots" in page else None):
        annotation = _resolve(raw)
        if isinstance(annotation, generic.DictionaryObject) and _is_signature_widget(annotation):
            continue
        annotations.append((_key(raw) or _dump(raw), raw))
    attributes = " ".join(
        f"{name} {_dump(value)}"
        for name, value in sorted(_items(page))
        if name not in _PAGE_SKIPPED
    )
    return _Page(
        contents,
        raw_contents,
        page.raw_get("/Resources") if "/Resources" in page else None,
        attributes,
        tuple(annotations),
    )


def _walk(stack, budget):
    """Depth-first walk of a tree of dictionaries: pop ``(raw object, context)`` pairs from
    ``stack`` (the caller pushes the children while iterating) and yield ``(key, dictionary,
    context)`` for each dictionary not met yet, within ``budget``."""
    seen = set()
    while stack and budget.take():
        raw, context = stack.pop()
        key = _key(raw)
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        node = _resolve(raw)
        if isinstance(node, generic.DictionaryObject):
            yield key, node, context


def _pages(resolver, budget):
    """``[(page key, _Page)]`` in order (the page tree walked depth first)."""
    pages = []
    stack = [(resolver.root.raw_get("/Pages"), None)]
    for key, node, _context in _walk(stack, budget):
        if "/Kids" in node:
            stack.extend(
                (kid, None) for kid in reversed(list(_elements(_resolve(node.raw_get("/Kids")))))
            )
        else:
            pages.append((key, _page(node)))
    return pages


def _field_values(resolver, budget):
    """``{full name: dump of /V}`` of the form fields that are not signatures, and
    ``{full name: None}`` of the empty signature fields (a signed one is a signature)."""
    values = {}
    try:
        fields = resolver.root["/AcroForm"]["/Fields"]
    except (KeyError, TypeError):
        return values
    stack = [(raw, "") for raw in reversed(list(_elements(fields)))]
    for _ref, field, prefix in _walk(stack, budget):
        name = prefix + str(field.get("/T", ""))
        kids = _resolve(field.raw_get("/Kids")) if "/Kids" in field else None
        if kids is not None:
            stack.extend((kid, name + ".") for kid in reversed(list(_elements(kids))))
        if field.get("/FT") != "/Sig" and "/V" in field:
            values[name] = _dump(field.raw_get("/V"))
        elif field.get("/FT") == "/Sig" and "/V" not in field and kids is None:
            values[name] = None
    return values


class _Reach:
    """Whether an object reaches, through references, one redefined in a revision. Objects
    explored without finding one are remembered for the rest of the revision."""

    def __init__(self, updated, budget):
        self.updated = updated
        self.clean = set()
        self.budget = budget

    def touches(self, *roots):
        stack, visited = list(roots), set()
        while stack:
            obj = stack.pop()
            key = _key(obj)
            if key is not None:
                if key in self.updated:
                    return True
                if key in self.clean or key in visited:
                    continue
                visited.add(key)
                if not self.budget.take():
                    return False
                obj = _resolve(obj)
            if isinstance(obj, generic.DictionaryObject):  # streams included: data unread
                stack.extend(value for name, value in _items(obj) if name not in _BACK_LINKS)
            elif isinstance(obj, generic.ArrayObject):
                stack.extend(_elements(obj))
        self.clean |= visited
        return False


def _annotation_appearances(page):
    for _ref, raw in page.annotations:
        annotation = _resolve(raw)
        if isinstance(annotation, generic.DictionaryObject) and "/AP" in annotation:
            yield annotation.raw_get("/AP")


def _compare(before, after, updated, budget):
    changes = []
    keys_before = {key for key, _page in before}
    keys_after = {key for key, _page in after}
    if keys_after - keys_before:
        changes.append(Change("page_added", count=len(keys_after - keys_before)))
    if keys_before - keys_after:
        changes.append(Change("page_removed", count=len(keys_before - keys_after)))
    old = {key: page for key, page in before if key is not None}
    reach = _Reach(updated, budget)
    for number, (key, page) in enumerate(after, start=1):
        previous = old.get(key)
        if previous is None:
            continue
        redefined = key in updated and (
            page.contents != previous.contents
            or page.attributes != previous.attributes
            or _dump(page.resources) != _dump(previous.resources)
        )
        if redefined or reach.touches(*page.raw_contents, page.resources):
            changes.append(Change("page_content", page=number))
        references = [ref for ref, _raw in page.annotations]
        if (
            references != [ref for ref, _raw in previous.annotations]
            or any(ref in updated for ref in references)
            or reach.touches(*_annotation_appearances(page))
        ):
            changes.append(Change("annotations", page=number))
    return changes


def describe_changes(reader, base_revision, *, signatures=()):
    """The changes made by the revisions of ``reader`` after ``base_revision`` (0-based).

    :param reader: a pyHanko ``PdfFileReader`` (already checked against decompression bombs)
    :param signatures: ``(revision, signer subject)`` of the signatures (``/Sig``) the file
        holds, in file order; those after ``base_revision`` are reported as added
    :return: a tuple of ``Change``, without repeats, in the order found; empty when nothing
        recognisable changed (the caller then says "other changes")
    """
    found = []
    for revision, subject in signatures:
        if revision > base_revision:
            found.append(Change("signature_added", signer=subject))
    base = reader.get_historical_resolver(base_revision)
    budget = _Budget()
    pages_before, fields_before = _pages(base, budget), _field_values(base, budget)
    for revision in range(base_revision + 1, reader.xrefs.total_revisions):
        budget = _Budget()
        resolver = reader.get_historical_resolver(revision)
        updated = {(ref.idnum, ref.generation) for ref in resolver.explicit_refs_in_revision()}
        pages_after, fields_after = _pages(resolver, budget), _field_values(resolver, budget)
        found += _compare(pages_before, pages_after, updated, budget)
        if fields_after != fields_before:
            found.append(Change("form_fields"))
        pages_before, fields_before = pages_after, fields_after
    return tuple(dict.fromkeys(found))
