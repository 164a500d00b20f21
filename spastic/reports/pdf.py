"""HTML -> archival PDF bytes with WeasyPrint: PDF/A-3a, shipped fonts, only our static files.

Fonts, the stylesheet and a lean user-agent stylesheet (see MARKER_RULE) are parsed once per
process and shared by every render. A render runs on a worker thread with a time limit: past
it the request gets an error at once. Python cannot stop the thread, so it finishes in the
background; the HTML is ours and bounded (free text is limited in length), so a runaway
render is not expected, only guarded against.
"""

import mimetypes
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "static"
STATIC_URL = "https://spastic.invalid/static/"  # never fetched from the network: see StaticOnly
STYLESHEET = STATIC / "css" / "summary.css"
# WeasyPrint's user-agent rules for pseudo-elements of every element (`::marker`, footnote and
# note calls and markers) give each of the summary's ~250 elements six more computed styles
# (1,480 of a render's 1,590). The summary has no footnote or note and its only list items are
# <li>: its user-agent stylesheet is WeasyPrint's own with `::marker` kept for <li> and the
# note rules left out (tests/test_summary_user_agent.py: the same pixels as the stock sheet).
MARKER_RULE = re.compile(r"^::marker \{", re.MULTILINE)
NOTE_RULES = re.compile(
    r"^::(footnote-call|footnote-marker|note-call|note-marker|note-callback) \{[^}]*\}\n",
    re.MULTILINE,
)
# One render at a time per process: the shared FontConfiguration is not made for threads.
_renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf")
_lock = threading.Lock()


class RenderTimeout(RuntimeError):
    """The PDF took longer than the time limit and was abandoned."""


@dataclass(frozen=True)
class Attachment:
    name: str
    content: bytes
    description: str
    mime_type: str


def render(
    html: str, attachments: tuple[Attachment, ...] = (), extra_css: str = "", timeout: float = 30
) -> bytes:
    """Render HTML to PDF/A-3a bytes within `timeout` seconds."""
    job = _renderer.submit(_render, html, attachments, extra_css)
    try:
        return job.result(timeout)
    except FutureTimeout:
        raise RenderTimeout(f"the PDF took longer than {timeout:g} s") from None


_state: dict = {}


def _render(html: str, attachments: tuple[Attachment, ...], extra_css: str) -> bytes:
    # What `HTML.write_pdf` does, in its two steps: the pages laid out, then drawn with the
    # same options.
    pages, options = _laid_out(html, attachments, extra_css)
    return pages.write_pdf(**options)


def layout(html: str, attachments: tuple[Attachment, ...] = (), extra_css: str = ""):
    """The summary laid out in pages (a WeasyPrint Document), exactly as `render` draws it:
    its page count is the PDF's without drawing the PDF (tests/test_summary_layout.py)."""
    return _laid_out(html, attachments, extra_css)[0]


def _laid_out(html: str, attachments: tuple[Attachment, ...], extra_css: str) -> tuple:
    """The pages and the rendering options of every summary (all WeasyPrint options, which
    `Document.write_pdf` takes as they are), with the shared fonts."""
    import weasyprint

    fonts, stylesheet, fetcher = _shared()
    sheets = [stylesheet]
    if extra_css:
        sheets.append(weasyprint.CSS(string=extra_css, font_config=fonts, url_fetcher=fetcher))
    options = {
        "stylesheets": sheets,
        "pdf_variant": "pdf/a-3a",
        "attachments": [
            weasyprint.Attachment(
                string=a.content,
                name=a.name,
                description=a.description,
                relationship="Data",
            )
            for a in attachments
        ],
        "uncompressed_pdf": False,
    }
    return document(html).render(font_config=fonts, **options), options


def document(html: str):
    """The summary's HTML as WeasyPrint reads it: our static files only, the lean user-agent
    stylesheet (the benchmark renders "WeasyPrint alone" through this too)."""
    return _SummaryHTML(string=html, base_url=STATIC_URL, url_fetcher=_shared()[2])


def lean_user_agent_css(stock: str) -> str | None:
    """WeasyPrint's HTML user-agent stylesheet without its every-element pseudo-element rules,
    or None if this WeasyPrint's sheet does not have them as expected (then the stock one is
    used: slower, never different)."""
    lean, markers = MARKER_RULE.subn("li::marker {", stock)
    lean, notes = NOTE_RULES.subn("", lean)
    return lean if (markers, notes) == (1, 5) else None


def _shared():
    with _lock:
        if not _state:
            _load_shared()
    return _state["fonts"], _state["stylesheet"], _state["fetcher"]


def _load_shared() -> None:
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    fetcher = StaticOnly()
    css = weasyprint.CSS(
        string=STYLESHEET.read_text(encoding="utf-8"),
        base_url=STATIC_URL + "css/",
        font_config=fonts,
        url_fetcher=fetcher,
    )
    _state.update(fonts=fonts, stylesheet=css, fetcher=fetcher, user_agent=_user_agent_sheet())


def _user_agent_sheet():
    from weasyprint.html import UA, UA_COUNTER_STYLE, UA_STYLESHEET

    lean = lean_user_agent_css(UA)
    if lean is None:
        return UA_STYLESHEET
    return _weasyprint().CSS(string=lean, counter_style=UA_COUNTER_STYLE)


def _weasyprint():
    import weasyprint

    return weasyprint


class _SummaryHTML(_weasyprint().HTML):
    """WeasyPrint's HTML with the shared lean user-agent stylesheet (see MARKER_RULE)."""

    def _ua_stylesheets(self, forms=False):
        return [_shared_user_agent()]


def _shared_user_agent():
    _shared()
    return _state["user_agent"]


def _fetcher_base():
    from weasyprint.urls import URLFetcher

    return URLFetcher


class StaticOnly(_fetcher_base()):
    """Serve our own static files; refuse file:, http(s) and everything else.

    Untrusted text can otherwise make a renderer read server files or call out
    (GHSA-35jj-wx47-4w8r); user text is escaped anyway, this is the second wall.
    """

    def __init__(self):
        super().__init__(allowed_protocols=("https", "data"), fail_on_errors=False)

    def fetch(self, url, headers=None):
        from weasyprint.urls import URLFetcherResponse

        if url.startswith("data:image/svg+xml"):  # our own chart, inlined by the template
            return super().fetch(url, headers)
        if not url.startswith(STATIC_URL):
            raise ValueError(f"refused to fetch {url[:80]}")
        relative = url[len(STATIC_URL) :].split("?", 1)[0].split("#", 1)[0]
        path = (STATIC / relative).resolve()
        if STATIC not in path.parents or not path.is_file():
            raise ValueError(f"refused to fetch {url[:80]}")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})
