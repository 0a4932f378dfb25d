"""Reading a TaskSpec off the description, and merging the model's proposal."""

import pytest

from tools.spec_parse import find_labels, merge_parse, parse_description, spans_or_text

TREC = ("Classify questions by the type of answer they expect: ABBR (abbreviation), DESC "
        "(description), ENTY (entity), HUM (human), LOC (location) or NUM (numeric value). "
        "Examples: 'How far is it from Denver to Aspen?' -> NUM; 'Who killed Gandhi?' -> HUM")


def test_labels_and_demonstrations_are_read_off_the_text():
    spec = parse_description(TREC)
    assert spec.kind == "classification"
    assert spec.labels == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    assert [(d.input, d.output) for d in spec.demonstrations] == [
        ("How far is it from Denver to Aspen?", "NUM"), ("Who killed Gandhi?", "HUM")]
    assert spec.metric == "accuracy"
    assert "Denver" not in spec.instruction


def test_input_output_blocks_make_a_generation_task():
    spec = parse_description("Translate English to French.\nInput: Hello\nOutput: Bonjour")
    assert spec.kind == "generation" and spec.labels == []
    assert spec.demonstrations[0].output == "Bonjour" and spec.metric == "chrf"


def test_arrow_lines_and_labels_from_demos():
    spec = parse_description("Detect spam in SMS messages.\n- WIN a prize now -> spam\n- see you at 5 -> ham")
    assert spec.labels == ["spam", "ham"]
    assert spec.instruction == "Detect spam in SMS messages."


def test_extraction_is_recognised():
    assert parse_description("Answer questions about a passage by extracting the span.").kind == "extraction"


@pytest.mark.parametrize("text", ["", "   \n "])
def test_empty_description_is_refused_with_advice(text):
    with pytest.raises(ValueError, match="empty"):
        parse_description(text)


def test_no_label_list_gives_no_labels():
    assert find_labels("Summarize news articles in one sentence.") == []


def test_merge_drops_labels_the_description_never_mentions():
    text = "Classify support tickets by topic."
    spec, notes = merge_parse(parse_description(text), {"kind": "classification",
                                                         "labels": ["support", "banana"]}, text)
    assert spec.labels == ["support"]
    assert any("banana" in n for n in notes)


def test_merge_keeps_explicit_labels_over_the_model():
    text = "Classify tickets as billing or other."
    spec, _ = merge_parse(parse_description(text), {"kind": "generation", "labels": ["x"]}, text)
    assert spec.kind == "classification" and spec.labels == ["billing", "other"]


def test_words_inside_demonstrations_do_not_decide_kind_or_labels():
    # A reading-comprehension context mentions "labeled ... as red or blue": not the task's labels.
    text = ("Answer the question by copying the answer span from the context. Examples: "
            "'Question: Which team won? Context: The cars were labeled as red or blue, and the red "
            "team won the sentiment contest.' -> the red team; "
            "'Question: Where? Context: It was held in Paris.' -> Paris")
    spec = parse_description(text)
    assert spec.kind == "extraction" and spec.labels == []
    assert [d.output for d in spec.demonstrations] == ["the red team", "Paris"]


@pytest.mark.parametrize("text", [
    "Classify support tickets as billing, technical or other and also explain why.",
    "Classify support tickets as billing, technical or other, and then explain why.",
    "Classify support tickets as billing, technical or other and give a reason."])
def test_an_instruction_after_the_label_list_is_not_a_label(text):
    assert parse_description(text).labels == ["billing", "technical", "other"]


def test_the_noun_before_for_example_names_the_set_not_a_label():
    s = parse_description("Tag each chat message with one of our 12 intents, for example refund, "
                          "cancel_order and track_package.")
    assert s.labels == ["refund", "cancel_order", "track_package"]
    assert s.labels_exemplified and s.label_count == 12


def test_a_qa_description_whose_examples_lack_a_context_is_text_to_text():
    text = ("Answer the question by extracting the answer. Examples: 'What is the capital of France?' -> "
            "Paris; 'Who wrote Hamlet?' -> William Shakespeare")
    draft = parse_description(text)
    assert draft.kind == "extraction"
    spec, notes = spans_or_text(draft)
    assert spec.kind == "generation" and spec.metric == "chrf"
    assert "no context" in spec.output_format and "2 of 2 examples' answers are not in their input" in notes[0]


def test_a_qa_description_with_contexts_stays_extraction():
    text = ("Answer the question by copying the answer span from the context. Examples: "
            "'Question: Where was it held? Context: It was held in Paris.' -> Paris; "
            "'Question: Who won? Context: The red team won the final.' -> The red team")
    spec, notes = spans_or_text(parse_description(text))
    assert spec.kind == "extraction" and spec.metric == "exact_match" and notes == []


def test_a_span_task_stays_extraction_when_the_model_says_classification_without_labels():
    text = ("Answer the question by copying the answer span from the context. Examples: "
            "'Question: Where was it held? Context: It was held in Paris.' -> Paris")
    spec, notes = merge_parse(parse_description(text), {"kind": "classification", "labels": []}, text)
    assert spec.kind == "extraction" and "kept kind extraction" in notes[0]
    # a model that finds labels the text names still decides
    text2 = "Find the answer type of the question: person or place."
    spec2, _ = merge_parse(parse_description(text2), {"kind": "classification", "labels": ["person", "place"]},
                           text2)
    assert spec2.kind == "classification"


def test_a_context_cut_short_in_the_description_keeps_the_task_extraction():
    # the suites clip each demonstration to 200 characters: the answer may fall past the cut
    text = ("Answer the question by copying the answer span from the context. Examples: "
            "'Question: Who won? Context: The final was played in a large stadium before' -> The red team; "
            "'Question: Where? Context: After a long season of matches the' -> Paris")
    spec, notes = spans_or_text(parse_description(text))
    assert spec.kind == "extraction" and notes == []
