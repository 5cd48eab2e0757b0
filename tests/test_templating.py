"""Task templates render in a sandbox: strangers' YAML cannot reach Python or exhaust memory."""

from __future__ import annotations

import pytest

from randbench.templating import TemplateRenderError, render_text, render_tree, render_value


def test_text_and_native_values() -> None:
    assert render_text("d{{ sides }}", {"sides": 6}) == "d6"
    assert render_value("{{ sides }}", {"sides": 6}) == 6
    assert render_value(" {{ sides * 2 }} ", {"sides": 6}) == 12
    assert render_value("{{ range(1, 4) | list }}", {}) == [1, 2, 3]
    assert render_value("{{ range(1, 4) }}", {}) == [1, 2, 3]
    assert render_value("{{ a }}-{{ b }}", {"a": 1, "b": 2}) == "1-2"
    assert render_value("no template", {}) == "no template"


def test_render_tree_renders_nested_strings_and_keys() -> None:
    tree = {"uniform_int": {"low": 1, "high": "{{ n }}"}, "{{ k }}": ["{{ n }}", 2]}
    assert render_tree(tree, {"n": 10, "k": "key"}) == {
        "uniform_int": {"low": 1, "high": 10},
        "key": [10, 2],
    }


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{{ missing }}", "'missing' is undefined"),
        ("{{ ''.__class__ }}", "not allowed in the sandbox"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "not allowed in the sandbox"),
        ("{{ cycler.__init__.__globals__ }}", "not allowed in the sandbox"),
        ("{{ lipsum.__globals__['os'] }}", "not allowed in the sandbox"),
        ("{{ [].append(1) }}", "not allowed in the sandbox"),
        ("{{ {}.update(a=1) }}", "not allowed in the sandbox"),
        ("{{ 'x' * 10**8 }}", "repeating a sequence"),
        ("{{ [0] * 10**8 }}", "repeating a sequence"),
        ("{{ 10 ** 100000 }}", "exponent"),
        ("{% for i in range(10**7) %}{% endfor %}", "Range too big"),
        ("{{ x", "template error"),
    ],
)
def test_unsafe_or_broken_templates_are_refused(template: str, fragment: str) -> None:
    with pytest.raises(TemplateRenderError, match=None) as caught:
        render_value(template, {})
    assert fragment in str(caught.value)


def test_refused_in_both_text_and_native_paths() -> None:
    with pytest.raises(TemplateRenderError, match="sandbox"):
        render_text("prefix {{ ''.__class__ }}", {})
    with pytest.raises(TemplateRenderError, match="sandbox"):
        render_value("{{ ''.__class__ }}", {})
