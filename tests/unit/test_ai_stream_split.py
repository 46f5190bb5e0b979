"""The summary streams out of the model's answer however the chunks fall."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.ai.providers.anthropic import SummarySplitter, answer_from_text
from tests.support.fake_anthropic import briefing_answer

SUMMARY = "Acme Corp has one open deal. Jane Doe <b>is</b> the main contact."


@given(st.lists(st.integers(1, 25), min_size=1, max_size=200))
def test_streamed_summary_equals_the_final_summary(cuts: list[int]) -> None:
    text = briefing_answer(SUMMARY)
    splitter, streamed, position = SummarySplitter(), "", 0
    for size in [*cuts, len(text)]:
        streamed += splitter.feed(text[position:position + size])
        position += size
        assert "</summ" not in streamed and "<briefing" not in streamed
    assert streamed.strip() == SUMMARY == splitter.summary
    answer = answer_from_text(splitter)
    assert answer.summary == SUMMARY and len(answer.next_steps) == 3
