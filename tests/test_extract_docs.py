"""docs/formats.md is generated from formats.py + the rule catalogue and must be up to date."""

from extractors.docgen import DOC_PATH, main, render
from extractors.rules import RULES


def test_committed_formats_doc_is_current() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == render(), "run: .venv/bin/python -m extractors.docgen"
    assert main(["--check"]) == 0


def test_doc_lists_every_rule_and_key() -> None:
    text = render()
    for rid in RULES:
        assert f"`{rid}`" in text
    for key in ("rejected_confirmation", "other_no_fee", "litigation_after_review", "amount_10k_yuan", "centralized_procurement"):
        assert f"`{key}`" in text
