"""TextVectorizer: tokenisation, ids, numpy == tf.data == SavedModel, persistence."""

import json
import warnings

import numpy as np
import pytest
import tensorflow as tf

from rnn_zoo import text
from rnn_zoo.data import DataError
from rnn_zoo.data import future_context_tagging
from rnn_zoo.data import negation_sentiment
from rnn_zoo.text import OOV_ID
from rnn_zoo.text import PAD_ID
from rnn_zoo.text import TextVectorizer
from rnn_zoo.text import tokenize_tf
from rnn_zoo.text import vectorize_tf

TEXTS = [
    "The food was good.",
    "The food wasn't good, and the service was bad!",
    "I don't think it's GOOD",
    "good good good",
]


def _tokens(text):
    return [t.decode("utf-8") for t in tokenize_tf(tf.constant([text])).to_list()[0]]


@pytest.fixture
def vectorizer():
    v = TextVectorizer(max_length=8)
    v.adapt(TEXTS)
    return v


def test_contractions_split_into_a_shared_negation_token():
    assert _tokens("The food isn't good") == ["the", "food", "is", "n't", "good"]
    assert _tokens("I DON'T know") == ["i", "do", "n't", "know"]
    assert _tokens("it can’t be") == ["it", "ca", "n't", "be"]  # typographic apostrophe
    assert _tokens("we cannot go") == ["we", "can", "not", "go"]
    assert _tokens("it's the dog's") == ["it's", "the", "dog's"]


def test_punctuation_is_split_off_and_quotes_are_tokens():
    assert _tokens("good, bad; (ok)!") == ["good", ",", "bad", ";", "(", "ok", ")", "!"]
    assert _tokens("'quoted' word") == ["'", "quoted", "'", "word"]


def test_non_ascii_text_is_normalised_nfkc_and_lower_cased():
    assert _tokens("Café ÉCOLE naïve") == ["café", "école", "naïve"]
    assert _tokens("ＦＵＬＬ ﬁne") == ["full", "fine"]  # full-width letters, ligature
    assert _tokens("日本語 テキスト😀") == ["日本語", "テキスト", "😀"]
    assert _tokens("a\u00a0b\u3000c") == ["a", "b", "c"]  # non-breaking and ideographic spaces


def test_ids_reserve_zero_for_padding_and_one_for_oov(vectorizer):
    ids = vectorizer(["the food was awful", ""])
    assert ids.dtype == np.int32 and ids.shape == (2, 8)
    vocab = vectorizer.vocabulary
    assert vocab[:2] == ("", "[UNK]") and PAD_ID == 0 and OOV_ID == 1
    assert ids[0, :4].tolist() == [
        vocab.index("the"),
        vocab.index("food"),
        vocab.index("was"),
        OOV_ID,
    ]
    assert ids[0, 4:].tolist() == [PAD_ID] * 4
    assert ids[1].tolist() == [PAD_ID] * 8
    assert ids[0].min() >= 0 and min(vocab.index(w) for w in ("the", "food")) >= 2


def test_vocabulary_orders_by_frequency_then_text_and_respects_limits():
    v = TextVectorizer()
    v.adapt(["b a c", "b a", "b"])
    assert v.vocabulary == ("", "[UNK]", "b", "a", "c")
    v.adapt(["b a c", "b a", "b"], max_tokens=4)
    assert v.vocabulary == ("", "[UNK]", "b", "a") and v.vocab_size == 4
    v.adapt(["b a c", "b a", "b"], min_count=3)
    assert v.vocabulary == ("", "[UNK]", "b")


def test_truncation_keeps_the_first_tokens_and_dynamic_length_pads_to_longest(vectorizer):
    short = TextVectorizer(max_length=3, vocabulary=vectorizer.vocabulary[2:])
    full = vectorizer([TEXTS[1]])[0]
    assert short([TEXTS[1]]).tolist() == [full[:3].tolist()]
    dynamic = TextVectorizer(vocabulary=vectorizer.vocabulary[2:])
    ids = dynamic(["good", "good good good", "good ."])
    assert ids.shape == (3, 3)
    assert ids[:, 0].tolist() == [vectorizer.vocabulary.index("good")] * 3


def test_numpy_path_equals_tf_data_paths(vectorizer):
    texts = TEXTS + ["Unseen wörds here", "ok"]
    expected = vectorizer(texts)
    batched = np.concatenate([b.numpy() for b in vectorizer.make_dataset(texts, batch_size=3)])
    np.testing.assert_array_equal(batched, expected)
    unbatched = tf.data.Dataset.from_tensor_slices(texts).map(vectorizer.tf_vectorize)
    np.testing.assert_array_equal(np.stack([x.numpy() for x in unbatched]), expected)
    eager = vectorize_tf(tf.constant(texts), table=vectorizer.lookup_table, max_length=8)
    np.testing.assert_array_equal(eager.numpy(), expected)


def test_make_dataset_pairs_labels_and_shuffles_reproducibly(vectorizer):
    labels = np.arange(len(TEXTS), dtype=np.int32)
    expected = vectorizer(TEXTS)

    def order(seed):
        pairs = [
            (x.numpy(), y.numpy())
            for x, y in vectorizer.make_dataset(
                TEXTS, labels, batch_size=2, shuffle=True, seed=seed
            )
        ]
        ids, ys = np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])
        np.testing.assert_array_equal(ids, expected[ys])  # each label stays with its text
        return ys.tolist()

    assert order(7) == order(7)
    assert sorted(order(7)) == labels.tolist()
    with pytest.raises(ValueError, match="labels"):
        vectorizer.make_dataset(TEXTS, labels[:2])


def test_save_load_round_trip_writes_vocab_txt_and_json(vectorizer, tmp_path):
    vectorizer.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["text_vectorizer.json", "vocab.txt"]
    lines = (tmp_path / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert tuple(lines) == vectorizer.vocabulary[2:]
    config = json.loads((tmp_path / "text_vectorizer.json").read_text())
    assert config["config"] == {"max_length": 8, "lowercase": True}
    assert config["first_token_id"] == 2 and config["vocab_size"] == vectorizer.vocab_size
    assert "vocabulary_size" not in config
    loaded = TextVectorizer.load(tmp_path)
    texts = TEXTS + ["naïve 日本語 unseen"]
    np.testing.assert_array_equal(loaded(texts), vectorizer(texts))


def test_load_rejects_a_damaged_vocabulary_naming_file_and_line(vectorizer, tmp_path):
    vectorizer.save(tmp_path)
    vocab = tmp_path / "vocab.txt"
    lines = vocab.read_text(encoding="utf-8").splitlines()
    vocab.write_text("\n".join(lines[:2] + [lines[0]] + lines[2:]) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"vocab\.txt, line 3: token .* repeats line 1"):
        TextVectorizer.load(tmp_path)


def test_vectorize_traces_into_a_saved_model_with_the_same_ids(vectorizer, tmp_path):
    module = tf.Module()
    module.table = vectorizer.lookup_table  # tracked, so the vocabulary is saved too
    module.serve = tf.function(
        lambda texts: vectorize_tf(texts, table=module.table, max_length=8),
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    tf.saved_model.save(module, str(tmp_path / "sm"))
    restored = tf.saved_model.load(str(tmp_path / "sm"))
    texts = TEXTS + ["Unseen café"]
    np.testing.assert_array_equal(restored.serve(tf.constant(texts)).numpy(), vectorizer(texts))


def test_generated_texts_tokenise_as_the_generators_intend():
    tagging = future_context_tagging(200, seed=0)
    v = TextVectorizer()
    v.adapt(tagging.texts)
    ids = v(tagging.texts)
    # One id per word, so ids line up with the per-token tags.
    np.testing.assert_array_equal((ids > 0).sum(axis=1), tagging.lengths)
    assert ids.shape[1] == tagging.tags.shape[1]
    negation = negation_sentiment(200, negated_fraction=1.0, seed=0)
    v.adapt(negation.texts)
    assert "n't" in v.vocabulary and not any(t.endswith("n't") and t != "n't" for t in v.vocabulary)


def test_invalid_arguments_name_the_argument():
    with pytest.raises(ValueError, match="max_length"):
        TextVectorizer(max_length=0)
    with pytest.raises(ValueError, match="max_tokens"):
        TextVectorizer().adapt(["a"], max_tokens=2)
    with pytest.raises(ValueError, match="duplicate"):
        TextVectorizer(vocabulary=["a", "a"])
    with pytest.raises(RuntimeError, match="adapt"):
        TextVectorizer()(["a"])


def test_vocabulary_size_is_a_deprecated_alias_of_vocab_size(vectorizer):
    with pytest.warns(DeprecationWarning, match="`TextVectorizer.vocabulary_size` is deprecated; "
                      "use `vocab_size`"):
        assert vectorizer.vocabulary_size == vectorizer.vocab_size == len(vectorizer.vocabulary)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert vectorizer.vocab_size == len(vectorizer.vocabulary)


def test_a_file_saved_before_the_rename_still_loads(vectorizer, tmp_path):
    vectorizer.save(tmp_path)
    config = json.loads((tmp_path / "text_vectorizer.json").read_text())
    config["vocabulary_size"] = config.pop("vocab_size")
    (tmp_path / "text_vectorizer.json").write_text(json.dumps(config))
    assert TextVectorizer.load(tmp_path).vocabulary == vectorizer.vocabulary
    config["vocabulary_size"] += 1
    (tmp_path / "text_vectorizer.json").write_text(json.dumps(config))
    with pytest.raises(DataError, match=r"text_vectorizer\.json: vocab_size=\d+, but .*vocab\.txt"):
        TextVectorizer.load(tmp_path)


def test_load_refuses_oversized_or_malformed_files_naming_them(vectorizer, tmp_path,
                                                              monkeypatch):
    vectorizer.save(tmp_path)
    monkeypatch.setattr(text, "MAX_VOCAB_BYTES", 8)
    with pytest.raises(DataError, match=r"vocab\.txt: \d+ bytes; expected at most 8"):
        TextVectorizer.load(tmp_path)
    monkeypatch.undo()
    config = json.loads((tmp_path / "text_vectorizer.json").read_text())
    config["config"]["shout"] = True
    (tmp_path / "text_vectorizer.json").write_text(json.dumps(config))
    with pytest.raises(DataError, match=r"text_vectorizer\.json: config .* keys among"):
        TextVectorizer.load(tmp_path)
    (tmp_path / "text_vectorizer.json").write_text("[1]")
    with pytest.raises(DataError, match=r"text_vectorizer\.json: expected a JSON object"):
        TextVectorizer.load(tmp_path)
