"""Guards for parsers that must not be used by two threads at once.

The nightly flow extracts portals in parallel threads (Prefect's thread-pool task runner) while the sample
portal builds attachments in its server threads.  An lxml parser object is not thread-safe: two threads
parsing with one module-level ``etree.HTMLParser`` aborted the interpreter (``Fatal Python error: Aborted``
inside ``etree.fromstring``, seen in CI).  So the HTML parser is one per thread, and python-docx — whose
module-level ``oxml_parser`` every ``docx.Document`` parses and builds elements with — runs under one lock.
"""

from __future__ import annotations

import threading

from lxml import etree

_local = threading.local()

#: Held around every python-docx parse or build (its ``docx.oxml.parser.oxml_parser`` is process-global).
PYTHON_DOCX_LOCK = threading.Lock()


def html_parser() -> etree.HTMLParser:
    """This thread's HTML parser (plain etree, no element-class lookup; never touches the network)."""
    parser = getattr(_local, "html", None)
    if parser is None:
        parser = _local.html = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, recover=True,
                                                remove_blank_text=False)
    return parser
