"""ticketcli.jsontext writes and reads JSON exactly as the json module does."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketcli import jsontext

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(),
                    st.floats(allow_nan=True, allow_infinity=True))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.tuples(inner, inner),
                            st.dictionaries(st.text(max_size=8), inner, max_size=5)),
    max_leaves=25,
)


@settings(max_examples=500, deadline=None)
@given(value=VALUES, indent=st.sampled_from([None, 2, 4]), sort_keys=st.booleans())
def test_dumps_writes_what_json_writes(value: Any, indent: int | None, sort_keys: bool) -> None:
    expected = json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=sort_keys)
    assert jsontext.encode(value, indent=indent, sort_keys=sort_keys) == expected
    assert jsontext.dumps(value, indent=indent, sort_keys=sort_keys) == expected


def test_many_values_go_to_json_and_read_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """After OWN_LIMIT values in one process, dumps hands them to json's C encoder."""
    monkeypatch.setattr(jsontext, "_own_calls", 0)
    monkeypatch.setattr(jsontext, "_json_dumps", None)
    value = {"b": [1, 2.5, None, True], "a": "\u00e8\n\"x\""}
    texts = [jsontext.dumps(value, sort_keys=True) for _ in range(jsontext.OWN_LIMIT + 5)]
    assert jsontext._json_dumps is json.dumps
    assert set(texts) == {json.dumps(value, ensure_ascii=False, sort_keys=True)}


@settings(max_examples=500, deadline=None)
@given(value=VALUES, indent=st.sampled_from([None, 2]))
def test_loads_reads_what_json_reads(value: Any, indent: int | None) -> None:
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    got = jsontext.loads(text)
    assert json.dumps(got) == json.dumps(json.loads(text))


@pytest.mark.parametrize("text", ["", " ", "{", "[1,]", "tru", "1 2", '"\\x"', "{} x"])
def test_loads_refuses_what_json_refuses(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    with pytest.raises(json.JSONDecodeError):
        jsontext.loads(text)


@pytest.mark.parametrize("text", [" {\"a\": 1} ", "\n[1, 2]\n", "7", '"x"', "null"])
def test_loads_takes_surrounding_whitespace(text: str) -> None:
    assert jsontext.loads(text) == json.loads(text)


def test_other_values_go_to_json() -> None:
    assert jsontext.dumps({1: "a"}) == json.dumps({1: "a"}, ensure_ascii=False)
    with pytest.raises(TypeError):
        jsontext.dumps({"a": object()})


def test_neither_imports_json_or_re() -> None:
    """(An editable install's import hook loads re before any code runs: then re is
    not ours to avoid.)"""
    before = "import sys\nprint('json' in sys.modules, 're' in sys.modules)"
    code = ("import sys\nfrom ticketcli import jsontext\n"
            "jsontext.loads(jsontext.dumps({'a': [1, 'é', None, True]}, indent=2))\n"
            "print('json' in sys.modules, 're' in sys.modules)")
    run = [subprocess.run([sys.executable, "-c", c], capture_output=True, text=True,
                          check=True).stdout.split() for c in (before, code)]
    assert run[1] == run[0] and run[1][0] == "False"

