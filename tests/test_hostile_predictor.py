"""Hostile input to `load_exported(path).predict`: ids, texts and features of
any dtype, rank, length and value (NaN and inf included).

The property: `predict` either raises the documented ValueError naming
`inputs`, or gives Keras's answer. Hypothesis generates the inputs; the
hand-written cases pin the findings of issue 20 (bytes mangled into "b'...'"
strings, int64 ids wrapping in int32, lone surrogates reaching TensorFlow).

TensorFlow-only (unmarked): exported files run in TF and LiteRT.
"""

import os

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rnn_zoo
from rnn_zoo.export import export_model
from rnn_zoo.export import load_exported
from rnn_zoo.export import read_manifest
from rnn_zoo.text import TextVectorizer

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="exported files run in TensorFlow and LiteRT",
)

VOCABULARY = [f"w{index}" for index in range(18)]  # vocab_size 20
VOCAB = 20
MAX_LENGTH = 12
FEATURES = 2
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@pytest.fixture(scope="module")
def text_export(tmp_path_factory):
    keras.utils.set_random_seed(1)
    model = rnn_zoo.build_text_classifier(vocab_size=VOCAB, units=4, embedding_dim=4,
                                          compile_model=False)
    vectorizer = TextVectorizer(vocabulary=VOCABULARY)
    result = export_model(model, name="clf", export_root=tmp_path_factory.mktemp("text"),
                          vectorizer=vectorizer, labels=["negative", "positive"],
                          max_length=MAX_LENGTH)
    predictors = {prefer: load_exported(result.path, prefer=prefer)
                  for prefer in ("saved_model", "tflite")}
    predictors["bare_tflite"] = _bare_tflite(result.path, tmp_path_factory)
    return model, vectorizer, predictors


@pytest.fixture(scope="module")
def features_export(tmp_path_factory):
    keras.utils.set_random_seed(2)
    model = rnn_zoo.build_sequence_classifier(num_features=FEATURES, num_classes=2, units=4,
                                              compile_model=False)
    result = export_model(model, name="seq", export_root=tmp_path_factory.mktemp("seq"),
                          lstm_kernel="fused", max_length=MAX_LENGTH)
    return model, {prefer: load_exported(result.path, prefer=prefer)
                   for prefer in ("saved_model", "tflite")}


def _bare_tflite(version, tmp_path_factory):
    """The version's `.tflite` copied alone: no manifest, vocab or labels."""
    folder = tmp_path_factory.mktemp("bare")
    with open(os.path.join(version, "model.tflite"), "rb") as source:
        (folder / "model.tflite").write_bytes(source.read())
    return load_exported(folder / "model.tflite")


def _same_as_keras_or_refused(predictor, inputs, keras_answer):
    try:
        got = predictor.predict(inputs)
    except ValueError as error:
        assert "`inputs`" in str(error), error
        return None
    expected = keras_answer()
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)
    return got


_INT_DTYPES = st.sampled_from(["int8", "int16", "int32", "int64", "uint8", "uint16",
                               "uint32", "uint64"])


@st.composite
def _id_arrays(draw):
    dtype = np.dtype(draw(_INT_DTYPES))
    info = np.iinfo(dtype)
    values = st.one_of(st.integers(0, VOCAB + 2), st.integers(int(info.min), int(info.max)))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=MAX_LENGTH + 2))
    return draw(hnp.arrays(dtype, shape, elements=values))


@pytest.mark.parametrize("prefer", ["saved_model", "tflite", "bare_tflite"])
@SETTINGS
@given(ids=_id_arrays())
def test_ids_of_any_dtype_shape_and_value(text_export, prefer, ids):
    model, _, predictors = text_export

    def keras_answer():
        # Without its manifest the file's vocabulary size is unknown to the
        # predictor; the graph reads ids past it as OOV (1).
        wide = ids.astype("int64")
        return np.asarray(model(np.where(wide >= VOCAB, 1, wide), training=False))

    _same_as_keras_or_refused(predictors[prefer], ids, keras_answer)


_FLOAT_DTYPES = st.sampled_from(["float16", "float32", "float64", "int32", "uint8"])


@st.composite
def _feature_arrays(draw):
    dtype = np.dtype(draw(_FLOAT_DTYPES))
    if dtype.kind == "f":
        elements = st.one_of(
            st.floats(-3.0, 3.0, width=min(dtype.itemsize * 8, 64)),
            st.floats(width=min(dtype.itemsize * 8, 64), allow_nan=True, allow_infinity=True))
    else:
        info = np.iinfo(dtype)
        elements = st.integers(int(info.min), int(info.max))
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=4, min_side=0, max_side=MAX_LENGTH + 1))
    if len(shape) == 3 and draw(st.booleans()):
        shape = shape[:2] + (FEATURES,)
    return draw(hnp.arrays(dtype, shape, elements=elements))


@pytest.mark.parametrize("prefer", ["saved_model", "tflite"])
@SETTINGS
@given(features=_feature_arrays())
def test_features_of_any_dtype_shape_and_value(features_export, prefer, features):
    model, predictors = features_export

    def keras_answer():
        expected = np.asarray(model(features.astype("float32"), training=False))
        # Valid input never needs more than float32 holds; where Keras itself
        # overflows, the predictor must have refused.
        assert np.all(np.isfinite(expected))
        return expected

    _same_as_keras_or_refused(predictors[prefer], features, keras_answer)


@pytest.mark.parametrize("prefer", ["saved_model", "tflite"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 3e38, 1e300])
def test_non_finite_and_overflowing_features_are_refused_and_leave_no_trace(
        features_export, prefer, value, rng):
    model, predictors = features_export
    clean = rng.normal(size=(2, 4, FEATURES)).astype("float32")
    hostile = clean.astype("float64")
    hostile[1, 2, 0] = value
    if abs(value) <= float(np.finfo("float32").max):
        # Finite but huge: Keras's answer, or refused where the file's
        # arithmetic overflows (the fused LSTM kernel refuses such rows).
        _same_as_keras_or_refused(
            predictors[prefer], hostile,
            lambda: np.asarray(model(hostile.astype("float32"), training=False)))
    else:
        with pytest.raises(ValueError, match="`inputs`.*row 1"):
            predictors[prefer].predict(hostile)
    np.testing.assert_allclose(predictors[prefer].predict(clean),
                               np.asarray(model(clean, training=False)), atol=1e-5)


_TEXT = st.text(alphabet=st.characters(blacklist_categories=()), max_size=20)
_WORDS = st.lists(st.sampled_from(VOCABULARY + ["unknown", "!", "\u2028", "\x00", "\ud800"]),
                  max_size=8).map(" ".join)


@pytest.mark.parametrize("prefer", ["saved_model", "tflite"])
@SETTINGS
@given(texts=st.lists(st.one_of(_TEXT, _WORDS), min_size=1, max_size=3))
def test_any_unicode_text_gets_keras_answer_or_a_value_error(text_export, prefer, texts):
    model, vectorizer, predictors = text_export
    encodable = all(_encodable(text) for text in texts)
    try:
        got = predictors[prefer].predict(texts)
    except ValueError as error:
        assert "`inputs`" in str(error), error
        if not encodable:
            assert "has no UTF-8 form" in str(error)
        return
    assert encodable
    np.testing.assert_allclose(got, np.asarray(model(vectorizer(texts), training=False)),
                               atol=1e-5)


def _encodable(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# Lone surrogates encoded anyway: invalid UTF-8 bytes. NumPy "S" arrays drop
# trailing NULs, so those are left out.
_WORD_BYTES = _WORDS.map(lambda text: text.encode("utf-8", "surrogatepass")).filter(
    lambda text: not text.endswith(b"\x00"))


@pytest.mark.parametrize("prefer", ["saved_model", "tflite"])
@SETTINGS
@given(raw=st.lists(st.one_of(st.binary(max_size=12), _WORD_BYTES), min_size=1, max_size=3))
def test_bytes_texts_are_decoded_as_utf8_never_mangled(text_export, prefer, raw):
    _, _, predictors = text_export
    predictor = predictors[prefer]
    as_array = np.array(raw, dtype=object).astype("S") if raw else None
    decoded = [text.decode("utf-8", errors="replace") for text in as_array]
    try:
        expected = predictor.predict(decoded)
    except ValueError as error:
        with pytest.raises(ValueError, match="`inputs`"):
            predictor.predict(as_array)
        assert "b'" not in str(error)
        return
    np.testing.assert_allclose(predictor.predict(as_array), expected, atol=1e-6)
    np.testing.assert_allclose(predictor.predict(list(as_array)), expected, atol=1e-6)


@pytest.mark.parametrize("prefer", ["saved_model", "tflite"])
def test_bytes_texts_hand_written(text_export, prefer):
    _, _, predictors = text_export
    predictor = predictors[prefer]
    expected = predictor.predict(["w1 w2", "w3 \ufffd w4"])
    for given_texts in (np.array([b"w1 w2", b"w3 \xff w4"]), [b"w1 w2", b"w3 \xff w4"],
                        np.array(["w1 w2", "w3 \ufffd w4"])):
        np.testing.assert_allclose(predictor.predict(given_texts), expected, atol=1e-6)
    np.testing.assert_allclose(predictor.predict(b"w1 w2"), expected[:1], atol=1e-6)
    with pytest.raises(ValueError, match=r"`inputs`: text 1 has no UTF-8 form"):
        predictor.predict(["w1", "w2 \ud800"])
    with pytest.raises(ValueError, match=r"`inputs`: an array of shape \(1, 2\)"):
        predictor.predict(np.array([["w1", "w2"]]))


@pytest.mark.parametrize("prefer", ["tflite", "bare_tflite"])
def test_int64_ids_never_wrap_in_int32(text_export, prefer):
    model, _, predictors = text_export
    for hostile in (2**32 + 5, 2**31, 2**63 - 1):
        with pytest.raises(ValueError, match=f"`inputs`: token id {hostile}"):
            predictors[prefer].predict(np.array([[3, hostile]], dtype="int64"))
    with pytest.raises(ValueError, match="token id 18446744073709551615"):
        predictors[prefer].predict(np.array([[3, 2**64 - 1]], dtype="uint64"))


def test_the_tflite_predictor_runs_any_batch_row_by_row_through_a_batch_one_file(
        text_export, rng):
    model, _, predictors = text_export
    # The manifest states the file's static batch.
    assert predictors["tflite"].serving is not None
    manifest = read_manifest(os.path.dirname(predictors["tflite"].path))
    assert manifest["tflite"]["batch_size"] == 1
    ids = rng.integers(1, VOCAB, size=(5, MAX_LENGTH)).astype("int64")
    ids[1, 3:] = 0
    ids[2, :2] = 0
    np.testing.assert_allclose(predictors["tflite"].predict(ids),
                               np.asarray(model(ids, training=False)), atol=1e-5)
