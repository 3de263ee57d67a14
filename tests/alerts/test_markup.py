"""The report's one path to HTML (alerts/markup.py) and the terminal's (tally.terminal): any
text comes out as that text, in an element or a double-quoted attribute, and nothing else;
attributes that could carry script or a request are never written; numbers only from numbers."""

from __future__ import annotations

import math
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.alerts.markup import Markup, el, escape, join, number, void
from monitor.alerts.tally import MAX_NAME_CHARS, terminal

HOSTILE = ['<script>alert(1)</script>', '"><svg onload=alert(1)>', "'><img src=x onerror=alert(1)>",
           "</td></tr></table><script>x</script>", "javascript:alert(1)", "&lt;already&gt; &amp;", "]]>--><!--"]


class Parsed(HTMLParser):
    """Elements (tag, attributes) and the text between them, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.text = ""

    def handle_starttag(self, tag, attrs) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data) -> None:
        self.text += data


def parsed(markup: str) -> Parsed:
    parser = Parsed()
    parser.feed(markup)
    parser.close()
    return parser


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_is_one_element_with_that_text_and_that_attribute(text):
    page = parsed(el("td", text, class_="x", data_v=text))
    assert page.elements == [("td", {"class": "x", "data-v": text})]
    assert page.text == text


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_stays_text_inside_svg_and_tables(text):
    page = parsed(el("svg", el("text", text, x=1), el("circle", el("title", text), data_v=text)))
    assert [tag for tag, _ in page.elements] == ["svg", "text", "circle", "title"]
    assert page.elements[2][1]["data-v"] == text and page.text == text + text


@pytest.mark.parametrize("name", ["onerror", "onload", "ONCLICK", "style", "href", "src", "srcset", "xlink:href", "formaction"])
def test_attributes_that_could_run_or_fetch_are_never_written(name):
    with pytest.raises(ValueError):
        el("a", "x", **{name: "javascript:alert(1)"})


@pytest.mark.parametrize("name", ["fill", "stroke", "filter", "mask", "clip_path", "marker_end", "cursor"])
def test_svg_paint_attributes_take_colours_and_numbers_only(name):
    assert el("circle", **{name: "#d62728"}) == f'<circle {name.replace("_", "-")}="#d62728"></circle>'
    with pytest.raises(ValueError):
        el("circle", **{name: "url(http://127.0.0.1:9/x)"})


def test_markup_is_not_escaped_twice_and_none_is_empty():
    inner = el("b", "<x>")
    assert el("p", inner, None, " & ") == "<p><b>&lt;x&gt;</b> &amp; </p>"
    assert join(["<", inner], "<") == "&lt;&lt;<b>&lt;x&gt;</b>"
    assert void("meta", charset="utf-8") == '<meta charset="utf-8">'
    assert isinstance(escape("<"), Markup) and escape(Markup("<b>")) == "<b>"


@pytest.mark.parametrize("value", ["1", "<b>1</b>", math.nan, math.inf, -math.inf, True, None, [1], {"a": 1}])
def test_numbers_only_from_finite_numbers(value):
    with pytest.raises(TypeError):
        number(value)


def test_numbers_are_formatted():
    assert number(3.14159, ".1f") == "3.1" and number(12) == "12" and escape(2.5) == "2.5"


def test_terminal_text_has_no_control_characters_and_is_cut():
    assert terminal("\x1b]0;owned\x07\x1b[2J\r\nx\x9b") == "?]0;owned??[2J??x?"
    assert len(terminal("a" * 100_000)) == MAX_NAME_CHARS and terminal(None) == ""
