"""Hostile input to `TextVectorizer.__call__`: any Unicode string (lone
surrogates, separators, NUL, combining marks), bytes and NumPy arrays.

The property: ids of the documented shape, or a ValueError naming `texts` and
the index of the bad text; never a TensorFlow error naming no input.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from rnn_zoo.text import TextVectorizer
from rnn_zoo.text import as_texts

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)
VOCABULARY = ["good", "bad", "not", "café", "'", "!"]
SEPARATORS = ["\u2028", "\u2029", "\x00", "\x85", "\u200b", "\ufeff", "\t", "\r\n", "\u3000"]
ANY_CHARACTER = st.characters(blacklist_categories=())
TEXTS = st.lists(st.one_of(
    st.text(alphabet=ANY_CHARACTER, max_size=30),
    st.lists(st.sampled_from(VOCABULARY + SEPARATORS + ["\ud800", "\udfff", "e\u0301"]),
             max_size=10).map("".join)), min_size=1, max_size=4)


@pytest.fixture(scope="module", params=["default", "mediapipe"])
def vectorizer(request):
    if request.param == "mediapipe":
        return TextVectorizer(vocabulary=["Good", "bad"], tokenizer="mediapipe", max_length=5)
    return TextVectorizer(vocabulary=VOCABULARY, max_length=5)


def _encodable(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@SETTINGS
@given(texts=TEXTS)
def test_any_unicode_gives_ids_or_a_value_error_naming_the_text(texts):
    # Hypothesis and module fixtures: the two vectorizers are built here.
    for vectorizer in (TextVectorizer(vocabulary=VOCABULARY, max_length=5),
                       TextVectorizer(vocabulary=["Good"], tokenizer="mediapipe",
                                      max_length=5)):
        bad = [index for index, text in enumerate(texts) if not _encodable(text)]
        if bad:
            with pytest.raises(ValueError, match=rf"`texts`: text {bad[0]} has no UTF-8 form"):
                vectorizer(texts)
            continue
        ids = vectorizer(texts)
        assert ids.dtype == np.int32 and ids.shape == (len(texts), 5)
        assert ids.min() >= 0 and ids.max() < vectorizer.vocab_size
        np.testing.assert_array_equal(vectorizer(np.array(texts, dtype=str)), ids)


@SETTINGS
@given(raw=st.lists(st.binary(max_size=20), min_size=1, max_size=4))
def test_bytes_are_decoded_as_utf8_with_replacement(raw):
    vectorizer = TextVectorizer(vocabulary=VOCABULARY, max_length=5)
    decoded = [text.decode("utf-8", errors="replace") for text in raw]
    np.testing.assert_array_equal(vectorizer(raw), vectorizer(decoded))
    assert as_texts(raw) == decoded


def test_bytes_arrays_are_never_mangled_into_their_repr(vectorizer):
    words = "good bad" if vectorizer.tokenizer != "mediapipe" else "Good bad"
    expected = vectorizer([words])
    for given_texts in (np.array([words.encode()]), [words.encode()], words.encode(),
                        np.array([words]), np.array(words), bytearray(words.encode())):
        np.testing.assert_array_equal(vectorizer(given_texts), expected)
    assert as_texts(np.array([b"caf\xc3\xa9", b"\xff"])) == ["café", "\ufffd"]


@pytest.mark.parametrize("texts, message", [
    (["good", "bad \ud800"], r"`texts`: text 1 has no UTF-8 form"),
    ("\udfff", r"`texts`: text 0 has no UTF-8 form"),
    ([b"good", 3], r"`texts`: text 1 is a int"),
    ([None], r"`texts`: text 0 is a NoneType"),
    (np.array([["good"]]), r"`texts`: an array of shape \(1, 1\)"),
    (np.array([1.5, 2.5]), r"`texts`: text 0 is a float"),
    (5, r"`texts`: int"),
])
def test_bad_texts_get_a_value_error_naming_them(vectorizer, texts, message):
    with pytest.raises(ValueError, match=message):
        vectorizer(texts)


def test_separators_and_nul_never_crash(vectorizer):
    for separator in SEPARATORS:
        ids = vectorizer([f"good{separator}bad{separator}", separator])
        assert ids.shape == (2, 5), separator
        assert set(ids[0].tolist()) <= set(range(vectorizer.vocab_size))


def test_an_eager_string_tensor_is_read_like_its_bytes():
    import tensorflow as tf

    vectorizer = TextVectorizer(vocabulary=VOCABULARY, max_length=5)
    np.testing.assert_array_equal(vectorizer(tf.constant(["good bad", "caf\u00e9"])),
                                  vectorizer(["good bad", "caf\u00e9"]))
