"""An area's `code_paths:` (paths in a repository that name the area in a suspect merge request's reason): read from
`rules/areas/*.yml`, and any value that is no plain relative path is a file:line error, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.rules import RulesError, load_rules
from service.rules.areas import code_path_ok
from tests.rules.helpers import rules_with_area_code_paths


def test_code_paths_are_read(tmp_path: Path) -> None:
    """`code_paths: [app/payments/, lib/charge.rb]` on the reliability area: kept in order."""
    rules = load_rules(rules_with_area_code_paths(tmp_path, "[app/payments/, lib/charge.rb]"))
    assert rules.areas["reliability"].code_paths == ("app/payments/", "lib/charge.rb")
    assert all(not a.code_paths for n, a in rules.areas.items() if n != "reliability")


@pytest.mark.parametrize(
    ("code_paths", "said"),
    [
        ("[app/../secrets]", "code_paths: 'app/../secrets' is not a path in a repository"),
        ("['/etc/passwd']", "code_paths: '/etc/passwd' is not a path in a repository"),
        ("['a b/']", "code_paths: 'a b/' is not a path in a repository"),
        ("['app//x']", "code_paths: 'app//x' is not a path in a repository"),
        ("['`x`']", "code_paths: '`x`' is not a path in a repository"),
        ("app/payments/", "code_paths: 'app/payments/' is not of type 'array'"),
        ("[app, 3]", "code_paths.1: 3 is not of type 'string'"),
    ],
)
def test_a_bad_code_path_is_a_file_line_error(tmp_path: Path, code_paths: str, said: str) -> None:
    """A path that is not a plain relative one (it would be shown in a code span), or the wrong shape: file and line."""
    folder = rules_with_area_code_paths(tmp_path, code_paths)
    with pytest.raises(RulesError) as caught:
        load_rules(folder)
    assert f"{folder / 'areas' / 'reliability.yml'}:7:" in caught.value.report()
    assert said in caught.value.report()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=300) | st.text(alphabet="ab./_- `\n\\", max_size=30))
def test_a_code_path_accepted_is_plain(text: str) -> None:
    """Any text: accepted only when it is relative path characters, no `.`/`..` segment, nothing a code span or
    Markdown would read."""
    if code_path_ok(text):
        assert not text.startswith("/") and "//" not in text and len(text) <= 255
        assert not set(text) - set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/")
        assert ".." not in text.split("/") and "." not in text.split("/")
