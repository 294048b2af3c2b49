"""Synthetic data sets that isolate one ability of recurrent networks.

Each generator is deterministic given `seed`, sized by its arguments, and returns one of
the frozen containers from `rnn_zoo.data.readers`:

- `negation_sentiment`: word order decides the label (bag-of-words models fail).
- `contrast_sentiment`: the main clause of "although X, Y" / "X but Y" decides.
- `future_context_tagging`: a token's tag is decided by a word later in the sentence
  (forward-only RNNs fail, bidirectional ones succeed).
- `adding_problem`: long-range memory over `length` steps (SimpleRNN fails when long).

The sentiment generators are built so that, on their order-dependent sentences, the
multiset of words has the same distribution under both labels: no order-blind model
can beat chance there. Texts are lower-case and use only words, "n't" contractions
and commas, which `rnn_zoo.text.TextVectorizer` tokenises as intended.
"""

from __future__ import annotations

import numpy as np

import rnn_zoo.data.limits as limits
from rnn_zoo.data.readers import SequenceData
from rnn_zoo.data.readers import TaggingData
from rnn_zoo.data.readers import TextClassificationData

__all__ = [
    "SENTIMENT_CLASS_NAMES",
    "TAG_NAMES",
    "adding_problem",
    "contrast_sentiment",
    "future_context_tagging",
    "negation_sentiment",
]

SENTIMENT_CLASS_NAMES = ("negative", "positive")

_ASPECTS = (
    "food",
    "service",
    "music",
    "staff",
    "room",
    "view",
    "plot",
    "acting",
    "ending",
    "price",
    "soundtrack",
    "dialogue",
)
_POSITIVE = (
    "good",
    "great",
    "excellent",
    "wonderful",
    "pleasant",
    "superb",
    "lovely",
    "brilliant",
    "delightful",
    "fantastic",
)
_NEGATIVE = (
    "bad",
    "awful",
    "terrible",
    "poor",
    "dull",
    "horrible",
    "boring",
    "dreadful",
    "disappointing",
    "mediocre",
)
# "" means no intensifier; drawn independently of the label, so it carries no signal.
_INTENSIFIERS = ("", "", "very", "really", "truly", "quite")
_OPENERS = ("", "", "", "honestly", "overall", "i thought", "to be fair", "in short")
_COPULAS = ("was", "is")
# Negator forms; "n't" is glued to the copula ("wasn't"), as people write it.
_NEGATORS = ("not", "never", "n't", "in no way")


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def _clause(
    rng: np.random.Generator, aspect: str, copula: str, adjective: str, negator: str | None
) -> str:
    """ "the food was not very good", with an optional negator and intensifier."""
    words = ["the", aspect]
    if negator == "n't":
        words.append(copula + "n't")
    elif negator:
        words += [copula, negator]
    else:
        words.append(copula)
    intensifier = _pick(rng, _INTENSIFIERS)
    # "in no way very good" reads badly; the choice is the same under both labels.
    if intensifier and negator != "in no way":
        words.append(intensifier)
    words.append(adjective)
    return " ".join(words)


def _with_opener(rng: np.random.Generator, sentence: str) -> str:
    opener = _pick(rng, _OPENERS)
    return f"{opener} {sentence}" if opener else sentence


def _plain_sentence(rng: np.random.Generator, label: int) -> str:
    """One or two un-negated clauses that share the label's polarity."""
    words = _POSITIVE if label == 1 else _NEGATIVE
    copula = _pick(rng, _COPULAS)
    first, second = rng.choice(len(_ASPECTS), size=2, replace=False)
    sentence = _clause(rng, _ASPECTS[first], copula, _pick(rng, words), None)
    if rng.random() < 0.5:
        sentence += " and " + _clause(rng, _ASPECTS[second], copula, _pick(rng, words), None)
    return _with_opener(rng, sentence)


def _check_size(num_samples: int, fraction: float | None = None, fraction_name: str = "") -> None:
    if (
        isinstance(num_samples, bool)
        or not isinstance(num_samples, (int, np.integer))
        or not 1 <= num_samples <= limits.MAX_ROWS
    ):
        raise ValueError(
            "Invalid value received for argument `num_samples`. Expected an integer in"
            f" 1..{limits.MAX_ROWS} (MAX_ROWS in rnn_zoo.data.limits). Received:"
            f" num_samples={num_samples!r}"
        )
    if fraction is not None and (
        isinstance(fraction, bool)
        or not isinstance(fraction, (int, float, np.integer, np.floating))
        or not 0.0 <= fraction <= 1.0
    ):
        raise ValueError(
            f"Invalid value received for argument `{fraction_name}`. Expected a number in [0, 1]."
            f" Received: {fraction_name}={fraction!r}"
        )


def negation_sentiment(
    num_samples: int, *, negated_fraction: float = 0.5, seed: int = 0
) -> TextClassificationData:
    """Sentiment sentences whose negated half only word order can classify.

    A negated sentence joins two clauses, one holding a positive adjective and one a
    negative adjective, and puts one negator ("not", "never", "n't", "in no way") in
    front of one of them:

    - "the food was not good and the service was bad" -> negative (both clauses bad)
    - "the food was good and the service wasn't bad" -> positive (both clauses good)

    Which slot holds the positive word, the negator's form, aspects, intensifiers and
    openers are drawn independently of the label, so the multiset of words has the same
    distribution under both labels: an order-blind model is at chance on these
    sentences (it can no longer learn "negator XOR polarity", which it can when a
    sentence has a single adjective). The other sentences are plain, un-negated
    clauses ("the plot was dull", "the view is lovely and the staff is great").

    Args:
        num_samples: number of sentences, 1..`limits.MAX_ROWS`.
        negated_fraction: share of negated (order-dependent) sentences. Default 0.5.
        seed: random seed; the same seed gives the same data. Default 0.

    Returns:
        `TextClassificationData` with `labels` 0 = negative, 1 = positive (balanced in
        expectation, independently within each subset), `class_names`
        `("negative", "positive")`, and `negated` == `order_dependent`, True on the
        negated sentences. Report accuracy on `data.negated` separately.

    Example:
        >>> data = negation_sentiment(1000, seed=0)
        >>> acc_negated = (predictions == data.labels)[data.negated].mean()  # doctest: +SKIP
    """
    _check_size(num_samples, negated_fraction, "negated_fraction")
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    labels = rng.integers(0, 2, size=num_samples).astype(np.int32)
    negated = rng.random(num_samples) < negated_fraction
    for label, is_negated in zip(labels, negated):
        if not is_negated:
            texts.append(_plain_sentence(rng, int(label)))
            continue
        copula = _pick(rng, _COPULAS)
        first, second = rng.choice(len(_ASPECTS), size=2, replace=False)
        positive_first = rng.random() < 0.5
        adjectives = (_pick(rng, _POSITIVE), _pick(rng, _NEGATIVE))
        if not positive_first:
            adjectives = adjectives[::-1]
        # Negating the negative word makes both clauses positive, and vice versa:
        # label 1 -> the negator goes before the negative adjective.
        negated_slot = int(positive_first) if label == 1 else int(not positive_first)
        negator = _pick(rng, _NEGATORS)
        clauses = [
            _clause(
                rng, _ASPECTS[aspect], copula, adjective, negator if slot == negated_slot else None
            )
            for slot, (aspect, adjective) in enumerate(zip((first, second), adjectives))
        ]
        texts.append(_with_opener(rng, " and ".join(clauses)))
    return TextClassificationData(
        texts, labels, SENTIMENT_CLASS_NAMES, negated=negated, order_dependent=negated.copy()
    )


# Templates for a contrast sentence: {sub} is the conceded clause, {main} decides.
_CONTRAST_TEMPLATES = (
    "although {sub} , {main}",
    "even though {sub} , {main}",
    "though {sub} , {main}",
    "{sub} but {main}",
    "{sub} , but {main}",
    "{main} although {sub}",
    "{main} , even though {sub}",
)


def contrast_sentiment(
    num_samples: int, *, contrast_fraction: float = 0.5, seed: int = 0
) -> TextClassificationData:
    """Sentiment sentences where the main clause of a concession decides the label.

    A contrast sentence holds one positive and one negative clause joined by a
    concession ("although", "even though", "though", "but"); the main clause decides:

    - "although the food was good , the service was awful" -> negative
    - "the service was awful but the food was good" -> positive
    - "the food was good although the service was awful" -> positive

    The template and the slot of each clause are drawn independently of the label, so
    on contrast sentences the multiset of words has the same distribution under both
    labels. The other sentences are plain ("the plot was dull and the acting was poor").
    Commas are separate tokens (spaced out) so that the text is tokenised the same way
    by any whitespace-and-punctuation tokenizer.

    Args:
        num_samples: number of sentences, 1..`limits.MAX_ROWS`.
        contrast_fraction: share of contrast (order-dependent) sentences. Default 0.5.
        seed: random seed; the same seed gives the same data. Default 0.

    Returns:
        `TextClassificationData` with labels 0 = negative, 1 = positive, `negated` all
        False, and `order_dependent` True on the contrast sentences.

    Example:
        >>> data = contrast_sentiment(1000, seed=1)
        >>> data.texts[int(np.argmax(data.order_dependent))]  # doctest: +SKIP
        'though the room was dull , the price was lovely'
    """
    _check_size(num_samples, contrast_fraction, "contrast_fraction")
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    labels = rng.integers(0, 2, size=num_samples).astype(np.int32)
    contrast = rng.random(num_samples) < contrast_fraction
    for label, is_contrast in zip(labels, contrast):
        if not is_contrast:
            texts.append(_plain_sentence(rng, int(label)))
            continue
        copula = _pick(rng, _COPULAS)
        first, second = rng.choice(len(_ASPECTS), size=2, replace=False)
        main_words, sub_words = (_POSITIVE, _NEGATIVE) if label == 1 else (_NEGATIVE, _POSITIVE)
        main = _clause(rng, _ASPECTS[first], copula, _pick(rng, main_words), None)
        sub = _clause(rng, _ASPECTS[second], copula, _pick(rng, sub_words), None)
        texts.append(_pick(rng, _CONTRAST_TEMPLATES).format(main=main, sub=sub))
    return TextClassificationData(
        texts,
        labels,
        SENTIMENT_CLASS_NAMES,
        negated=np.zeros(num_samples, dtype=bool),
        order_dependent=contrast,
    )


# Nouns with an animal sense and an object sense; the place named at the end decides.
_AMBIGUOUS = (
    "bat",
    "mouse",
    "crane",
    "seal",
    "bass",
    "jaguar",
    "kite",
    "ram",
    "mustang",
    "beetle",
)
_ANIMALS = ("dog", "cat", "horse", "owl", "fox", "rabbit", "deer", "frog")
_OBJECTS = ("lamp", "hammer", "laptop", "chair", "bottle", "camera", "kettle", "book")
_ANIMAL_PLACES = (
    "in the forest",
    "by the river",
    "in the wild",
    "at the zoo",
    "in the meadow",
    "near the pond",
)
_OBJECT_PLACES = (
    "in the garage",
    "on the desk",
    "in the shop",
    "in the office",
    "in the warehouse",
    "on the shelf",
)
_VERBS_SINGULAR = ("was seen", "was found", "was kept", "stayed", "was left", "remained")
_VERBS_PLURAL = ("were seen", "were found", "were kept", "stayed", "were left", "remained")
_FILLERS = ("", "", "all day", "for a while", "again", "yesterday", "for hours")
TAG_NAMES = ("<pad>", "O", "ANIMAL", "OBJECT")
_O, _ANIMAL, _OBJECT = 1, 2, 3
_PLAIN_NOUNS = tuple((w, _ANIMAL) for w in _ANIMALS) + tuple((w, _OBJECT) for w in _OBJECTS)


def future_context_tagging(
    num_samples: int, *, max_nouns: int = 3, ambiguous_probability: float = 0.6, seed: int = 0
) -> TaggingData:
    """Tag nouns ANIMAL or OBJECT where ambiguous nouns are resolved only by a later word.

    Each sentence lists 1..`max_nouns` nouns, a verb and a place:
    "the bat and the lamp were left on the desk". Unambiguous nouns ("dog", "lamp")
    always carry their own tag; ambiguous ones ("bat", "mouse", "crane", "jaguar", ...)
    are ANIMAL when the place is natural ("in the forest") and OBJECT when it is
    man-made ("in the garage"). The place is drawn independently of everything before
    it, so at an ambiguous noun the prefix carries no information about its tag: a
    forward-only RNN is at chance (50%) on those tokens, a bidirectional one is not.
    Every other token is tagged "O".

    Args:
        num_samples: number of sentences, 1..`limits.MAX_ROWS`.
        max_nouns: the most nouns per sentence, 1..10 (nouns in a sentence are
            distinct). Default 3.
        ambiguous_probability: chance that each noun is ambiguous; every sentence has at
            least one ambiguous noun. Default 0.6.
        seed: random seed; the same seed gives the same data. Default 0.

    Returns:
        `TaggingData`: `texts` (tokens joined by spaces), int32 `tags [n, max_len]`
        right-padded with 0 (`tag_names` = `("<pad>", "O", "ANIMAL", "OBJECT")`), bool
        `dependent [n, max_len]` marking the ambiguous nouns, int32 `lengths [n]`.

    Example:
        >>> data = future_context_tagging(500, seed=0)
        >>> data.texts[0].split()[0], data.tag_names[data.tags[0, 1]]  # doctest: +SKIP
        ('the', 'ANIMAL')
    """
    _check_size(num_samples, ambiguous_probability, "ambiguous_probability")
    if not 1 <= max_nouns <= len(_AMBIGUOUS):
        raise ValueError(
            "Invalid value received for argument `max_nouns`. Expected an integer in"
            f" 1..{len(_AMBIGUOUS)}. Received: max_nouns={max_nouns!r}"
        )
    rng = np.random.default_rng(seed)
    sentences: list[list[tuple[str, int, bool]]] = []  # (word, tag, dependent)
    for _ in range(num_samples):
        animal_place = rng.random() < 0.5
        context_tag = _ANIMAL if animal_place else _OBJECT
        count = int(rng.integers(1, max_nouns + 1))
        ambiguous = rng.random(count) < ambiguous_probability
        ambiguous[int(rng.integers(count))] = True  # every sentence tests the ability
        # Distinct nouns: "the bass and the bass" would read as a typo.
        ambiguous_nouns = iter(rng.permutation(len(_AMBIGUOUS)))
        plain_nouns = iter(rng.permutation(len(_PLAIN_NOUNS)))
        words: list[tuple[str, int, bool]] = []
        for position, is_ambiguous in enumerate(ambiguous):
            if position:
                words.append(("and", _O, False))
            words.append(("the", _O, False))
            if is_ambiguous:
                words.append((_AMBIGUOUS[next(ambiguous_nouns)], context_tag, True))
            else:
                word, tag = _PLAIN_NOUNS[next(plain_nouns)]
                words.append((word, tag, False))
        tail = " ".join(
            part
            for part in (
                _pick(rng, _VERBS_PLURAL if count > 1 else _VERBS_SINGULAR),
                _pick(rng, _FILLERS),
                _pick(rng, _ANIMAL_PLACES if animal_place else _OBJECT_PLACES),
            )
            if part
        )
        words += [(word, _O, False) for word in tail.split()]
        sentences.append(words)
    lengths = np.array([len(s) for s in sentences], dtype=np.int32)
    tags = np.zeros((num_samples, int(lengths.max())), dtype=np.int32)
    dependent = np.zeros(tags.shape, dtype=bool)
    for i, words in enumerate(sentences):
        tags[i, : len(words)] = [tag for _, tag, _ in words]
        dependent[i, : len(words)] = [dep for _, _, dep in words]
    texts = [" ".join(word for word, _, _ in words) for words in sentences]
    return TaggingData(texts, tags, dependent, lengths, TAG_NAMES)


def adding_problem(num_samples: int, *, length: int, seed: int = 0) -> SequenceData:
    """The adding problem (Hochreiter & Schmidhuber 1997): sum two marked values.

    Each sequence has `length` steps and two channels: channel 0 holds values drawn
    uniformly from [0, 1); channel 1 is 1.0 at exactly two steps and 0.0 elsewhere, one
    marker in the first half and one in the second half (the layout of Le et al. 2015
    and Arjovsky et al. 2016). The target is the sum of the two marked values. Always
    predicting 1.0 gives a mean squared error of 1/6 ~= 0.167; a model that remembers
    the first marked value across `length / 2` steps gets close to 0. SimpleRNN stops
    beating the baseline as `length` grows (hundreds of steps), gated cells do not.

    Args:
        num_samples: number of sequences, 1..`limits.MAX_ROWS`.
        length: steps per sequence, 2..`limits.MAX_SEQUENCE_LENGTH` (keyword-only: it
            is the knob of the task); `num_samples * length * 2` may not pass
            `limits.MAX_ARRAY_ELEMENTS`.
        seed: random seed; the same seed gives the same data. Default 0.

    Returns:
        `SequenceData` with float32 `x [n, length, 2]`, `lengths` all equal to
        `length`, and float32 `targets [n]`.

    Example:
        >>> data = adding_problem(1000, length=100, seed=0)
        >>> data.x.shape, data.targets.shape
        ((1000, 100, 2), (1000,))
    """
    _check_size(num_samples)
    if (
        isinstance(length, bool)
        or not isinstance(length, (int, np.integer))
        or not 2 <= length <= limits.MAX_SEQUENCE_LENGTH
    ):
        raise ValueError(
            "Invalid value received for argument `length`. Expected an integer in"
            f" 2..{limits.MAX_SEQUENCE_LENGTH} (MAX_SEQUENCE_LENGTH in rnn_zoo.data.limits)."
            f" Received: length={length!r}"
        )
    if num_samples * length * 2 > limits.MAX_ARRAY_ELEMENTS:
        raise ValueError(
            f"Invalid value received for argument `num_samples`. Expected num_samples * length *"
            f" 2 <= {limits.MAX_ARRAY_ELEMENTS} (MAX_ARRAY_ELEMENTS in rnn_zoo.data.limits)."
            f" Received: num_samples={num_samples!r} with length={length!r}"
        )
    rng = np.random.default_rng(seed)
    values = rng.random((num_samples, length), dtype=np.float32)
    half = length // 2
    first = rng.integers(0, half, size=num_samples)
    second = rng.integers(half, length, size=num_samples)
    markers = np.zeros((num_samples, length), dtype=np.float32)
    rows = np.arange(num_samples)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    targets = values[rows, first] + values[rows, second]
    x = np.stack([values, markers], axis=-1)
    return SequenceData(x, np.full(num_samples, length, dtype=np.int32), targets=targets)
