"""AIPREF vocabulary, RFC 9651 Dictionary parsing, Content-Usage and the mapping table (spec §3)."""

from __future__ import annotations

import importlib.util
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.core import prefs
from registry.core.errors import PreferenceError, StructuredFieldError
from registry.core.prefs import (
    Date,
    DisplayString,
    InnerList,
    Item,
    Token,
    combine,
    format_content_usage,
    parse_content_usage,
    parse_dictionary,
)

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "spec" / "vectors"


def _load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_prefs", VECTORS / "gen_prefs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_prefs = _load_generator()

# -- validation (spec §3.1) --------------------------------------------------------------------


@pytest.mark.parametrize("label", ["train-ai", "search", "x-future", "*", "a.b_c*9", "a" * 64])
def test_valid_category_labels_are_accepted(label: str) -> None:
    assert prefs.validate_category(label) == label


@pytest.mark.parametrize("label", ["", "Train-ai", "9ai", "-x", "a b", "ä", "a" * 65, 7, None])
def test_malformed_category_labels_raise(label: object) -> None:
    with pytest.raises(PreferenceError):
        prefs.validate_category(label)


def test_validate_prefs_accepts_y_and_n_only() -> None:
    assert prefs.validate_prefs({"train-ai": "n", "x": "y"}) == {"train-ai": "n", "x": "y"}
    for bad in ("Y", "no", "", True, 0, None):
        with pytest.raises(PreferenceError):
            prefs.validate_prefs({"train-ai": bad})
    with pytest.raises(PreferenceError):
        prefs.validate_prefs({"Bad": "n"})


def test_categories_are_the_aipref_vocabulary() -> None:
    assert prefs.CATEGORIES == ("train-ai", "search")


# -- combining (spec §3.2) ---------------------------------------------------------------------


def test_combine_any_disallow_wins_then_allow_then_unknown() -> None:
    assert combine([]) == {}
    assert combine([{"train-ai": "y"}, {"train-ai": "n"}, {"train-ai": "y"}]) == {"train-ai": "n"}
    assert combine([{"train-ai": "y"}, {"search": "y"}]) == {"search": "y", "train-ai": "y"}
    assert combine([{"x-future": "n"}, {}]) == {"x-future": "n"}
    assert list(combine([{"train-ai": "n", "search": "y"}])) == ["search", "train-ai"]


def test_combine_rejects_values_other_than_y_n() -> None:
    with pytest.raises(PreferenceError):
        combine([{"train-ai": "maybe"}])


statements = st.dictionaries(st.sampled_from(["train-ai", "search", "x"]), st.sampled_from("yn"))


@given(st.lists(statements, max_size=6), st.randoms())
def test_combine_is_order_independent_and_idempotent(items: list[dict[str, str]], rnd: Any) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert combine(shuffled) == combine(items) == combine(items + items)
    assert combine([combine(items[:2]), combine(items[2:])]) == combine(items)


# -- RFC 9651 Dictionary parsing ---------------------------------------------------------------


def test_parse_dictionary_every_bare_item_type() -> None:
    parsed = parse_dictionary(
        'i=-42, d=3.14, s="a \\"q\\" \\\\", t=foo/bar:baz, b=:aGVsbG8=:, y=?1, n=?0, '
        'dt=@1659578233, ds=%"caf%c3%a9", l=(1 "x";p=1 tok);lp, bare;p'
    )
    assert parsed["i"] == Item(-42, {})
    assert parsed["d"] == Item(Decimal("3.14"), {})
    assert parsed["s"] == Item('a "q" \\', {})
    assert parsed["t"] == Item(Token("foo/bar:baz"), {})
    assert parsed["b"] == Item(b"hello", {})
    assert parsed["y"] == Item(True, {})
    assert parsed["n"] == Item(False, {})
    assert parsed["dt"] == Item(Date(1659578233), {})
    assert parsed["ds"] == Item(DisplayString("café"), {})
    assert parsed["l"] == InnerList(
        [Item(1, {}), Item("x", {"p": 1}), Item(Token("tok"), {})], {"lp": True}
    )
    assert parsed["bare"] == Item(True, {"p": True})


def test_parse_dictionary_numbers_at_their_limits() -> None:
    assert parse_dictionary("a=999999999999999")["a"] == Item(999999999999999, {})
    assert parse_dictionary("a=-999999999999.999")["a"] == Item(Decimal("-999999999999.999"), {})
    assert parse_dictionary("a=0.5")["a"] == Item(Decimal("0.5"), {})


def test_parse_dictionary_byte_sequences_padding_is_optional() -> None:
    assert parse_dictionary("a=:aGVsbG8:")["a"] == Item(b"hello", {})
    assert parse_dictionary("a=::")["a"] == Item(b"", {})


def test_parse_dictionary_last_duplicate_key_overwrites_and_keeps_position() -> None:
    parsed = parse_dictionary("a=1, b=2, a=3")
    assert list(parsed) == ["a", "b"]
    assert parsed["a"] == Item(3, {})


def test_parse_dictionary_duplicate_parameters_last_wins() -> None:
    assert parse_dictionary("a;p=1;p=2")["a"] == Item(True, {"p": 2})
    assert parse_dictionary("a=1; p=2")["a"] == Item(1, {"p": 2})  # SP after ';' is allowed


def test_parse_dictionary_whitespace_rules() -> None:
    assert parse_dictionary("") == {}
    assert parse_dictionary("   ") == {}
    assert list(parse_dictionary("  a=1 ,\t b=2  ")) == ["a", "b"]
    assert parse_dictionary("a=( 1  2 )")["a"] == InnerList([Item(1, {}), Item(2, {})], {})


@pytest.mark.parametrize(
    "value",
    [
        "a=1,", ",a=1", "a=1,,b=2", "a =1", "a= 1", "\ta=1", "A=1", "1a=1", "a=1 b=2",
        "a=", "a=-", "a=-x", "a=1.", "a=1.1234", "a=1234567890123.1", "a=1234567890123456",
        "a=12345678901234.56", 'a="x', 'a="\\x"', 'a="\\', 'a="\x01"', "a=:aGVsbG8",
        "a=:aGV$bG8=:", "a=:=aGVsbG8=:", "a=:a:", "a=?", "a=?x", "a=@1.5", "a=@x", "a=%x",
        'a=%"%zz"', 'a=%"%c3"', 'a=%"x', 'a=%"\x7f"', "a=%", "a=(1 2", "a=(1,2)", "a=)",
        "a;", "a;=1", "a=1;P=2", "é=1", "a=\u00e9", "a=(",
    ],
)  # fmt: skip
def test_parse_dictionary_rejects_invalid_fields(value: str) -> None:
    with pytest.raises(StructuredFieldError):
        parse_dictionary(value)


# -- Content-Usage (spec §3.3) -----------------------------------------------------------------


def test_content_usage_examples_from_the_aipref_drafts() -> None:
    assert parse_content_usage("train-ai=n") == {"train-ai": "n"}
    assert parse_content_usage("train-ai=y, search=n") == {"search": "n", "train-ai": "y"}
    # draft-ietf-aipref-vocab "Multiple Preferences": last values are not tokens -> unknown
    assert parse_content_usage('train-ai=y, train-ai, search=n, search="n"') == {}
    assert parse_content_usage("train-ai;allow=n, train-ai=y") == {"train-ai": "y"}
    assert parse_content_usage('train-ai;has;parameters="?"') == {}


@pytest.mark.parametrize(
    "value",
    ['train-ai="n"', "train-ai=0", "train-ai=?0", "train-ai", "train-ai=(n)", "train-ai=N",
     "train-ai=no", "train-ai=:bg==:", "train-ai=@0", 'train-ai=%"n"', "train-ai=1.0"],
)  # fmt: skip
def test_content_usage_values_other_than_tokens_y_n_are_unknown(value: str) -> None:
    assert parse_content_usage(value) == {}


def test_content_usage_keeps_unknown_categories_and_drops_overlong_keys() -> None:
    long_key = "k" * 65
    assert parse_content_usage(f"x-new=n, {long_key}=n, *=y") == {"*": "y", "x-new": "n"}


def test_content_usage_invalid_field_raises() -> None:
    with pytest.raises(StructuredFieldError):
        parse_content_usage("train-ai=n,")
    with pytest.raises(PreferenceError):  # StructuredFieldError is a PreferenceError
        parse_content_usage("Train-AI=n")


def test_format_content_usage_is_sorted_and_canonical() -> None:
    assert format_content_usage({"train-ai": "n", "search": "y"}) == "search=y, train-ai=n"
    assert format_content_usage({}) == ""
    with pytest.raises(PreferenceError):
        format_content_usage({"train-ai": "no"})


@given(st.dictionaries(st.from_regex(r"[a-z*][a-z0-9_.*-]{0,10}", fullmatch=True),
                       st.sampled_from("yn")))  # fmt: skip
def test_format_then_parse_round_trips(statement: dict[str, str]) -> None:
    text = format_content_usage(statement)
    assert parse_content_usage(text) == dict(sorted(statement.items()))
    assert format_content_usage(parse_content_usage(text)) == text


@given(st.text(alphabet=st.sampled_from(list('a=ny,;"() \t?1:*-x')), max_size=30))
def test_parse_never_raises_anything_but_structured_field_error(value: str) -> None:
    try:
        result = parse_content_usage(value)
    except StructuredFieldError:
        return
    assert all(v in ("y", "n") for v in result.values())


def test_robots_content_usage_rule() -> None:
    assert prefs.parse_robots_content_usage("train-ai=n") == (None, {"train-ai": "n"})
    assert prefs.parse_robots_content_usage(" /ai-ok/ train-ai=y # ok") == (
        "/ai-ok/",
        {"train-ai": "y"},
    )
    assert prefs.parse_robots_content_usage("/only-path") == ("/only-path", {})
    assert prefs.parse_robots_content_usage("/p\ttrain-ai=n\r\n") == ("/p", {"train-ai": "n"})
    with pytest.raises(StructuredFieldError):
        prefs.parse_robots_content_usage("/p train-ai=n,")


# -- mapping table (spec §3.4) -----------------------------------------------------------------


def test_mapping_table_in_the_spec_matches_the_code() -> None:
    text = (ROOT / "spec" / "03-preferences.md").read_text(encoding="utf-8")
    rows = re.findall(
        r"^\| ([a-z-]+) \| `([^`]+)` \| `([^`]+)` \| ([x-]) \| ([x-]) \| ([x-]) \| ([x-]) \| "
        r"(.+?) \|$",
        text,
        flags=re.M,
    )
    expected = [
        (r.scheme, r.key, r.category, *("x" if f else "-" for f in
         (r.reads_n, r.reads_y, r.writes_n, r.writes_y)), r.note)
        for r in prefs.MAPPING
    ]  # fmt: skip
    assert rows == expected
    assert {r.scheme for r in prefs.MAPPING} == set(prefs.SCHEMES) == set(prefs.SCHEME_VALUES)


def test_tdmai_import() -> None:
    assert prefs.from_tdmai({"all": "false"}) == {"search": "n", "train-ai": "n"}
    assert prefs.from_tdmai({"all": True}) == {"search": "y", "train-ai": "y"}
    assert prefs.from_tdmai({"train-ai": "false"}) == {"train-ai": "n"}
    assert prefs.from_tdmai({"train-genai": False, "search": "true"}) == {
        "search": "y",
        "train-ai": "n",
    }
    # any disallow wins: TDM·AI's narrower override is not honoured (lossy)
    assert prefs.from_tdmai({"all": "false", "train-genai": "true"})["train-ai"] == "n"
    assert prefs.from_tdmai({"ai-use": "false", "iscc": "ISCC:AAA", "intent": 3}) == {}
    for bad in ("no", 0, None, "True"):
        with pytest.raises(PreferenceError):
            prefs.from_tdmai({"search": bad})


def test_tdmai_export_is_exact_and_round_trips() -> None:
    assert prefs.to_tdmai({"train-ai": "n", "search": "y", "x": "n"}) == {
        "search": "true",
        "train-genai": "false",
    }
    for statement in ({"train-ai": "n"}, {"train-ai": "y", "search": "n"}, {}):
        assert prefs.from_tdmai(prefs.to_tdmai(statement)) == statement


def test_cawg_import() -> None:
    def cawg(label: str, use: str) -> dict[str, object]:
        return {"entries": {label: {"use": use}}}

    assert prefs.from_cawg(cawg("cawg.ai_generative_training", "notAllowed")) == {"train-ai": "n"}
    assert prefs.from_cawg(cawg("cawg.ai_generative_training", "allowed")) == {"train-ai": "y"}
    assert prefs.from_cawg(cawg("cawg.ai_generative_training", "constrained")) == {"train-ai": "n"}
    assert prefs.from_cawg(cawg("cawg.data_mining", "notAllowed")) == {"train-ai": "n"}
    assert prefs.from_cawg(cawg("cawg.data_mining", "allowed")) == {}
    assert prefs.from_cawg(cawg("cawg.ai_training", "notAllowed")) == {"train-ai": "n"}
    assert prefs.from_cawg(cawg("cawg.ai_training", "allowed")) == {}
    assert prefs.from_cawg(cawg("c2pa.ai_generative_training", "notAllowed")) == {"train-ai": "n"}
    assert prefs.from_cawg(cawg("cawg.ai_inference", "notAllowed")) == {}
    assert prefs.from_cawg({"entries": {"com.example.custom": 5}}) == {}
    both = {
        "entries": {
            "c2pa.ai_generative_training": {"use": "notAllowed"},
            "cawg.ai_generative_training": {"use": "allowed"},
        }
    }
    assert prefs.from_cawg(both) == {"train-ai": "n"}


@pytest.mark.parametrize(
    "assertion",
    [{}, {"entries": []}, {"entries": {"cawg.ai_training": "notAllowed"}},
     {"entries": {"cawg.ai_training": {"use": "no"}}}, {"entries": {"cawg.ai_training": {}}},
     {"entries": {"cawg.data_mining": {"use": 1}}}],
)  # fmt: skip
def test_cawg_import_rejects_malformed_assertions(assertion: dict[str, object]) -> None:
    with pytest.raises(PreferenceError):
        prefs.from_cawg(assertion)


def test_cawg_export() -> None:
    assert prefs.to_cawg({"train-ai": "n", "search": "n"}) == {
        "entries": {"cawg.ai_generative_training": {"use": "notAllowed"}}
    }
    assert prefs.to_cawg({"train-ai": "y"}) == {
        "entries": {"cawg.ai_generative_training": {"use": "allowed"}}
    }
    assert prefs.to_cawg({"search": "y"}) == {"entries": {}}


def test_tdmrep_both_directions() -> None:
    assert prefs.from_tdmrep({"tdm-reservation": 1}) == {"train-ai": "n"}
    assert prefs.from_tdmrep({"tdm-reservation": "1", "tdm-policy": "https://x"}) == {
        "train-ai": "n"
    }
    assert prefs.from_tdmrep({"tdm-reservation": 0}) == {"train-ai": "y"}
    assert prefs.from_tdmrep({"tdm-policy": "https://x"}) == {}
    for bad in (2, True, "yes", None, 1.0):
        with pytest.raises(PreferenceError):
            prefs.from_tdmrep({"tdm-reservation": bad})
    assert prefs.to_tdmrep({"train-ai": "n"}) == {"tdm-reservation": 1}
    assert prefs.to_tdmrep({"train-ai": "y", "search": "n"}) == {}


def test_robots_tags_both_directions() -> None:
    assert prefs.from_robots_tags("noai") == {"train-ai": "n"}
    assert prefs.from_robots_tags(" NoImageAI ,nofollow") == {"train-ai": "n"}
    assert prefs.from_robots_tags("noindex, noai") == {"search": "n", "train-ai": "n"}
    assert prefs.from_robots_tags("none") == {"search": "n"}
    assert prefs.from_robots_tags("index, follow, otherbot: noai") == {}
    assert prefs.to_robots_tags({"train-ai": "n"}) == "noai, noimageai"
    assert prefs.to_robots_tags({"train-ai": "n", "search": "n"}) == "noai, noimageai, noindex"
    assert prefs.to_robots_tags({"train-ai": "y", "search": "y"}) == ""


def test_content_signals_both_directions() -> None:
    assert prefs.from_content_signals("search=yes, ai-train=no") == {
        "search": "y",
        "train-ai": "n",
    }
    assert prefs.from_content_signals("AI-Train=YES,, ai-input=no") == {"train-ai": "y"}
    assert prefs.from_content_signals("") == {}
    for bad in ("ai-train", "=yes", "search=maybe", "ai-train=1"):
        with pytest.raises(PreferenceError):
            prefs.from_content_signals(bad)
    assert prefs.from_content_signals("other=whatever") == {}
    assert prefs.to_content_signals({"train-ai": "n", "search": "y"}) == "ai-train=no, search=yes"
    assert prefs.to_content_signals({"train-ai": "y"}) == ""  # would widen the permission


@pytest.mark.parametrize(
    "export", [prefs.to_tdmai, prefs.to_cawg, prefs.to_tdmrep, prefs.to_robots_tags,
               prefs.to_content_signals],
)  # fmt: skip
def test_every_export_validates_its_input(export: Any) -> None:
    with pytest.raises(PreferenceError):
        export({"train-ai": "false"})


@given(statements)
def test_exports_never_allow_what_the_statement_disallows(statement: dict[str, str]) -> None:
    # Conservative mapping (spec §3.4): re-importing an export never turns an "n" into a "y"
    # and never invents a "y"; train-ai=n survives every scheme.
    round_trips = [
        prefs.from_tdmai(prefs.to_tdmai(statement)),
        prefs.from_cawg(prefs.to_cawg(statement)),
        prefs.from_tdmrep(prefs.to_tdmrep(statement)),
        prefs.from_robots_tags(prefs.to_robots_tags(statement)),
        prefs.from_content_signals(prefs.to_content_signals(statement)),
    ]
    for result in round_trips:
        if statement.get("train-ai") == "n":
            assert result["train-ai"] == "n"
        for category in prefs.CATEGORIES:
            if statement.get(category) == "n":
                assert result.get(category) != "y"
            if result.get(category) == "y":
                assert statement.get(category) == "y"


# -- vectors -----------------------------------------------------------------------------------


def _vector_files() -> list[dict[str, Any]]:
    generated = gen_prefs.generate()
    out: list[dict[str, Any]] = [json.loads(json.dumps(v)) for v in generated.values()]
    for name in generated:
        path = VECTORS / name
        if path.exists():
            out.append(json.loads(path.read_text(encoding="utf-8")))
    return out


def test_generate_is_deterministic() -> None:
    assert json.dumps(gen_prefs.generate(), sort_keys=True) == json.dumps(
        gen_prefs.generate(), sort_keys=True
    )


def test_content_usage_vectors() -> None:
    files = [f for f in _vector_files() if f["description"].startswith("spec §3.3")]
    assert files
    for data in files:
        for case in data["cases"]:
            if case["result"] == "invalid":
                assert case["error"] == "StructuredFieldError"
                with pytest.raises(StructuredFieldError):
                    parse_content_usage(case["field"])
            else:
                assert parse_content_usage(case["field"]) == case["prefs"], case["name"]
                assert format_content_usage(case["prefs"]) == case["canonical"]


def test_content_usage_vectors_pin_the_spec_examples() -> None:
    by_name = {c["name"]: c for c in gen_prefs.generate()["content-usage.json"]["cases"]}
    assert by_name["attach draft example"]["prefs"] == {"train-ai": "n"}
    assert by_name["vocab draft duplicate example"]["prefs"] == {}
    assert by_name["last duplicate wins"]["prefs"] == {"train-ai": "n"}
    assert by_name["trailing comma"]["result"] == "invalid"


IMPORTERS = {
    "tdmai": prefs.from_tdmai,
    "cawg": prefs.from_cawg,
    "tdmrep": prefs.from_tdmrep,
    "robots": prefs.from_robots_tags,
    "content-signals": prefs.from_content_signals,
    "ai-txt": prefs.from_ai_txt,
    "rsl": prefs.from_rsl,
    "plus": prefs.from_plus_data_mining,
}
EXPORTERS = {
    "tdmai": prefs.to_tdmai,
    "cawg": prefs.to_cawg,
    "tdmrep": prefs.to_tdmrep,
    "robots": prefs.to_robots_tags,
    "content-signals": prefs.to_content_signals,
    "ai-txt": prefs.to_ai_txt,
    "rsl": prefs.to_rsl,
    "plus": prefs.to_plus_data_mining,
}


def test_mapping_vectors() -> None:
    files = [f for f in _vector_files() if "table" in f]
    assert files
    for data in files:
        assert len(data["table"]) == len(prefs.MAPPING)
        for case in data["cases"]:
            if case["direction"] == "import":
                importer: Any = IMPORTERS[case["scheme"]]
                if case["result"] == "invalid":
                    with pytest.raises(PreferenceError):
                        importer(case["input"])
                else:
                    assert importer(case["input"]) == case["prefs"], case["name"]
            elif case["result"] == "invalid":
                with pytest.raises(PreferenceError):
                    prefs.to_tdmai(case["prefs"])
            else:
                for scheme, exporter in EXPORTERS.items():
                    assert exporter(case["prefs"]) == case[scheme], (case["name"], scheme)


# -- ai.txt, RSL and PLUS Data Mining (spec §3.4.2 items 7-9) ---------------------------------


def test_ai_txt_rules() -> None:
    assert prefs.from_ai_txt("Disallow") == {"train-ai": "n"}
    assert prefs.from_ai_txt(" ALLOW ") == {"train-ai": "y"}
    with pytest.raises(PreferenceError):
        prefs.from_ai_txt("Noindex")
    assert prefs.to_ai_txt({"train-ai": "n", "search": "y"}) == "Disallow"
    assert prefs.to_ai_txt({"train-ai": "y"}) == ""  # lossy: Allow would be broader
    assert prefs.from_ai_txt(prefs.to_ai_txt({"train-ai": "n"})) == {"train-ai": "n"}


def test_rsl_usage_tokens() -> None:
    assert prefs.from_rsl({"prohibits": ["ai-train"]}) == {"train-ai": "n"}
    assert prefs.from_rsl({"permits": ["ai-train", "search"]}) == {"search": "y", "train-ai": "y"}
    assert prefs.from_rsl({"permits": ["all"]}) == {"search": "y", "train-ai": "y"}
    assert prefs.from_rsl({"permits": ["ai-all", "ai-input", "ai-index", "x-new"]}) == {
        "train-ai": "y"
    }
    # a token both permitted and prohibited is prohibited
    assert prefs.from_rsl({"permits": ["search"], "prohibits": ["search"]}) == {"search": "n"}
    assert prefs.from_rsl({}) == {}
    for bad in ({"permits": "ai-train"}, {"prohibits": ["AI Train"]}, {"permits": [3]}):
        with pytest.raises(PreferenceError):
            prefs.from_rsl(bad)
    assert prefs.to_rsl({"train-ai": "n", "search": "y", "x": "n"}) == {
        "permits": ["search"],
        "prohibits": ["ai-train"],
    }
    assert prefs.to_rsl({"train-ai": "y"}) == {"permits": [], "prohibits": []}
    statement = {"train-ai": "n", "search": "n"}
    assert prefs.from_rsl(prefs.to_rsl(statement)) == statement


def test_plus_data_mining_values() -> None:
    vocab = prefs.PLUS_VOCAB
    assert prefs.from_plus_data_mining(vocab + "DMI-PROHIBITED-GENAIMLTRAINING") == {
        "train-ai": "n"
    }
    assert prefs.from_plus_data_mining("DMI-PROHIBITED") == {"search": "n", "train-ai": "n"}
    assert prefs.from_plus_data_mining("DMI-ALLOWED") == {"search": "y", "train-ai": "y"}
    assert prefs.from_plus_data_mining(vocab + "DMI-PROHIBITED-SEECONSTRAINT") == {"train-ai": "n"}
    assert prefs.from_plus_data_mining("DMI-UNSPECIFIED") == {}
    with pytest.raises(PreferenceError):
        prefs.from_plus_data_mining("Prohibited for AI/ML training")
    assert prefs.to_plus_data_mining({"train-ai": "n", "search": "y"}) == (
        vocab + "DMI-PROHIBITED-GENAIMLTRAINING"
    )
    assert prefs.to_plus_data_mining({"train-ai": "y"}) == ""
    assert prefs.from_plus_data_mining(prefs.to_plus_data_mining({"train-ai": "n"})) == {
        "train-ai": "n"
    }
