"""Synthetic generators: determinism, shapes, balance, and the order-only properties."""

import collections
import math

import numpy as np
import pytest

from rnn_zoo.data import generators
from rnn_zoo.data import limits
from rnn_zoo.data.generators import adding_problem
from rnn_zoo.data.generators import contrast_sentiment
from rnn_zoo.data.generators import future_context_tagging
from rnn_zoo.data.generators import negation_sentiment

POSITIVE, NEGATIVE = set(generators._POSITIVE), set(generators._NEGATIVE)


def _words(text):
    # "wasn't" -> "was", "n't": the tokenisation TextVectorizer applies.
    return text.replace("n't", " n't").split()


def _naive_bayes_accuracy(train, test):
    """Accuracy of a multinomial naive Bayes on bags of words: an order-blind model."""
    counts = [collections.Counter(), collections.Counter()]
    for text, label in zip(train.texts, train.labels):
        counts[label].update(_words(text))
    vocab = set(counts[0]) | set(counts[1])
    totals = [sum(c.values()) + len(vocab) for c in counts]
    prior = np.log(np.bincount(train.labels, minlength=2) / len(train))
    correct = 0
    for text, label in zip(test.texts, test.labels):
        scores = [
            prior[k]
            + sum(math.log((counts[k][w] + 1) / totals[k]) for w in _words(text) if w in vocab)
            for k in (0, 1)
        ]
        correct += int(np.argmax(scores) == label)
    return correct / len(test)


@pytest.mark.parametrize(
    "generate", [negation_sentiment, contrast_sentiment, future_context_tagging]
)
def test_text_generators_are_deterministic_by_seed(generate):
    a, b, c = generate(200, seed=3), generate(200, seed=3), generate(200, seed=4)
    assert a.texts == b.texts
    assert a.texts != c.texts
    for field in ("labels", "negated", "order_dependent", "tags", "dependent", "lengths"):
        if hasattr(a, field):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_adding_problem_is_deterministic_by_seed():
    a, b, c = (adding_problem(50, length=30, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.targets, b.targets)
    assert not np.array_equal(a.x, c.x)


@pytest.mark.parametrize("generate", [negation_sentiment, contrast_sentiment])
def test_sentiment_shapes_dtypes_and_balance(generate):
    data = generate(4000, seed=0)
    assert len(data) == len(data.texts) == 4000
    assert data.labels.dtype == np.int32 and data.labels.shape == (4000,)
    assert data.negated.dtype == bool and data.order_dependent.dtype == bool
    assert data.class_names == ("negative", "positive")
    assert all(isinstance(t, str) and t for t in data.texts)
    assert 0.45 < data.order_dependent.mean() < 0.55
    for subset in (data.order_dependent, ~data.order_dependent):
        assert 0.45 < data.labels[subset].mean() < 0.55


def test_negated_fraction_controls_the_subset():
    assert not negation_sentiment(100, negated_fraction=0.0, seed=0).negated.any()
    everything = negation_sentiment(100, negated_fraction=1.0, seed=0)
    assert everything.negated.all()
    np.testing.assert_array_equal(everything.negated, everything.order_dependent)


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: negation_sentiment(0), "num_samples"),
        (lambda: negation_sentiment(True), "num_samples"),
        (lambda: negation_sentiment(2.5), "num_samples"),
        (lambda: negation_sentiment(10**12), "num_samples"),
        (lambda: contrast_sentiment(limits.MAX_ROWS + 1), "num_samples"),
        (lambda: negation_sentiment(10, negated_fraction=1.5), "negated_fraction"),
        (lambda: negation_sentiment(10, negated_fraction=float("nan")), "negated_fraction"),
        (lambda: negation_sentiment(10, negated_fraction="half"), "negated_fraction"),
        (lambda: contrast_sentiment(10, contrast_fraction=-0.1), "contrast_fraction"),
        (lambda: adding_problem(10, length=1), "length"),
        (lambda: adding_problem(10, length=2.5), "length"),
        (lambda: adding_problem(10, length=10**9), "length"),
        (lambda: adding_problem(10**6, length=10**6), "num_samples"),
        (lambda: future_context_tagging(10, max_nouns=0), "max_nouns"),
    ],
)
def test_invalid_arguments_name_the_argument_and_fail_before_allocating(call, argument):
    # The sizes past a limit would need terabytes; the check must come first.
    with pytest.raises(ValueError, match=f"argument `{argument}`"):
        call()


def test_negated_sentence_has_one_positive_one_negative_word_and_one_negator():
    data = negation_sentiment(2000, seed=0)
    for text, negated in zip(data.texts, data.negated):
        words = _words(text)
        negators = sum(w in ("not", "never", "n't", "no") for w in words)
        if negated:
            assert sum(w in POSITIVE for w in words) == 1, text
            assert sum(w in NEGATIVE for w in words) == 1, text
            assert negators == 1, text
        else:
            assert negators == 0, text


def test_negation_label_is_decided_by_which_word_the_negator_precedes():
    data = negation_sentiment(2000, seed=1)
    for text, label, negated in zip(data.texts, data.labels, data.negated):
        words = _words(text)
        adjectives = [w for w in words if w in POSITIVE | NEGATIVE]
        if not negated:
            assert all((w in POSITIVE) == bool(label) for w in adjectives), text
            continue
        start = next(i for i, w in enumerate(words) if w in ("not", "never", "n't", "no"))
        negated_word = next(w for w in words[start:] if w in POSITIVE | NEGATIVE)
        # "not bad" + "good" reads positive; "not good" + "bad" reads negative.
        assert label == (1 if negated_word in NEGATIVE else 0), text


@pytest.mark.parametrize("generate", [negation_sentiment, contrast_sentiment])
def test_word_frequencies_match_across_labels_on_order_dependent_sentences(generate):
    data = generate(8000, seed=2)
    subset = data.select(data.order_dependent)
    by_label = [subset.select(subset.labels == k) for k in (0, 1)]
    counts = [collections.Counter(w for t in d.texts for w in set(_words(t))) for d in by_label]
    sizes = [len(d) for d in by_label]
    for word in set(counts[0]) | set(counts[1]):
        p0, p1 = counts[0][word] / sizes[0], counts[1][word] / sizes[1]
        pooled = (counts[0][word] + counts[1][word]) / sum(sizes)
        se = math.sqrt(pooled * (1 - pooled) * (1 / sizes[0] + 1 / sizes[1]))
        # Two-proportion z-test per word: the share of sentences holding it is the same.
        assert abs(p0 - p1) <= 4.5 * se + 1e-9, (word, p0, p1)


@pytest.mark.parametrize("generate", [negation_sentiment, contrast_sentiment])
def test_bag_of_words_model_is_at_chance_only_on_order_dependent_sentences(generate):
    train, test = generate(3000, seed=10), generate(1500, seed=11)
    hard = _naive_bayes_accuracy(
        train.select(train.order_dependent), test.select(test.order_dependent)
    )
    easy = _naive_bayes_accuracy(
        train.select(~train.order_dependent), test.select(~test.order_dependent)
    )
    assert 0.42 < hard < 0.58
    assert easy > 0.97


def test_contrast_label_follows_the_main_clause():
    data = contrast_sentiment(1000, contrast_fraction=1.0, seed=5)
    assert not data.negated.any()
    for text, label in zip(data.texts, data.labels):
        words = text.split()
        if words[0] in ("although", "though") or words[:2] == ["even", "though"]:
            main = words[words.index(",") + 1 :]
        elif "but" in words:
            main = words[words.index("but") + 1 :]
        else:  # "<main> although <sub>" / "<main> , even though <sub>"
            cut = words.index("although") if "although" in words else words.index(",")
            main = words[:cut]
        polarity = {1 if w in POSITIVE else 0 for w in main if w in POSITIVE | NEGATIVE}
        assert polarity == {int(label)}, text


def test_tagging_shapes_padding_and_dependent_mask():
    data = future_context_tagging(500, seed=0)
    n, width = data.tags.shape
    assert n == 500 and data.tags.dtype == np.int32 and data.lengths.dtype == np.int32
    assert data.tag_names == ("<pad>", "O", "ANIMAL", "OBJECT")
    assert width == data.lengths.max()
    mask = np.arange(width)[None, :] < data.lengths[:, None]
    assert (data.tags[mask] > 0).all() and (data.tags[~mask] == 0).all()
    assert not data.dependent[~mask].any()
    assert data.dependent.any(axis=1).all()  # every sentence tests the ability
    for text, length in zip(data.texts, data.lengths):
        assert len(text.split(" ")) == length


def test_dependent_tags_are_decided_by_the_place_at_the_end():
    data = future_context_tagging(1000, seed=1)
    animal_places = {p.split()[-1] for p in generators._ANIMAL_PLACES}
    for i, text in enumerate(data.texts):
        words = text.split()
        expected = 2 if words[-1] in animal_places else 3
        assert (data.tags[i][data.dependent[i]] == expected).all(), text
        # Every dependent word is ambiguous, and every ambiguous noun is dependent.
        for t, word in enumerate(words):
            assert data.dependent[i, t] == (word in generators._AMBIGUOUS), text


def test_prefix_lookup_is_at_chance_on_dependent_tokens():
    """The best forward-only guess (majority tag for each exact prefix) stays near 50%."""
    train, test = future_context_tagging(4000, seed=2), future_context_tagging(2000, seed=3)

    def prefixes(data):
        for i, text in enumerate(data.texts):
            words = text.split()
            for t in np.flatnonzero(data.dependent[i]):
                yield " ".join(words[: t + 1]), int(data.tags[i, t])

    seen = collections.defaultdict(collections.Counter)
    for prefix, tag in prefixes(train):
        seen[prefix][tag] += 1
    overall = sum(seen.values(), collections.Counter()).most_common(1)[0][0]
    hits = [
        (seen[p].most_common(1)[0][0] if p in seen else overall) == tag for p, tag in prefixes(test)
    ]
    assert 0.4 < np.mean(hits) < 0.6


def test_adding_problem_markers_and_targets():
    data = adding_problem(300, length=40, seed=0)
    assert data.x.shape == (300, 40, 2) and data.x.dtype == np.float32
    assert data.targets.shape == (300,) and data.targets.dtype == np.float32
    assert (data.lengths == 40).all()
    markers = data.x[:, :, 1]
    assert (markers.sum(axis=1) == 2).all()
    assert (markers[:, :20].sum(axis=1) == 1).all() and (markers[:, 20:].sum(axis=1) == 1).all()
    np.testing.assert_allclose(data.targets, (data.x[:, :, 0] * markers).sum(axis=1), rtol=1e-6)
    assert ((data.x[:, :, 0] >= 0) & (data.x[:, :, 0] < 1)).all()
    # Predicting the mean sum (1.0) is the documented 1/6 baseline.
    assert abs(np.mean((data.targets - 1.0) ** 2) - 1 / 6) < 0.03
