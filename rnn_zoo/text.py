"""Text to token ids with TensorFlow Text: one pure TF function for training and serving.

The transformation (normalise -> tokenise -> look up -> pad) is `vectorize_tf`, a pure
function of a vocabulary table and a few settings, built only from TF and
tensorflow-text ops. It runs inside `tf.data`, inside any `tf.function`, and inside a
SavedModel signature, so raw text gives the same ids in training and in serving.
`TextVectorizer` holds the vocabulary and settings, builds the vocabulary from training
texts, returns numpy arrays for the jax and torch backends, and saves itself as
`vocab.txt` + `text_vectorizer.json` (no pickle).

Conventions: id 0 is padding, id 1 is out-of-vocabulary (OOV), real tokens start at 2;
sequences are right-padded and right-truncated; ids are int32.

Tokenisation, step by step:

1. `tensorflow_text.normalize_utf8(..., "NFKC")`: full-width letters, ligatures and
   compatibility forms become their plain equivalents ("ｆｏｏ" -> "foo", "ﬁ" -> "fi").
2. Lower-casing with `tf.strings.lower(..., encoding="utf-8")` (Unicode-aware).
3. Typographic apostrophes (’ ‘ ʼ) become "'" (NFKC keeps them), so "isn’t" == "isn't".
4. Contractions are split the Penn Treebank way: "isn't" -> "is" "n't", "don't" ->
   "do" "n't", "can't" -> "ca" "n't", "cannot" -> "can" "not". Why: negation is what
   the order-sensitive sentiment tasks test, and one shared "n't" token, seen in every
   contraction, is learnt from all of them; keeping "isn't", "wasn't", "don't" whole
   would make each a separate rare token the model must learn as a negator on its own.
5. Every character that is not a letter, digit, mark, space or in-word apostrophe
   becomes its own token ("good," -> "good" ","; "😀" is a token).
6. `tensorflow_text.WhitespaceTokenizer` splits on Unicode whitespace. Scripts written
   without spaces (Chinese, Japanese) stay one token per run of characters.

`tokenizer="mediapipe"` replaces all of the above by exactly what MediaPipe Tasks'
`RegexTokenizer` does on a phone, so a model exported for MediaPipe
(`rnn_zoo.export`, target "mediapipe") is fed the ids it was trained on:

* the text ends at its first NUL character (the C++ reads a C string);
* it is split on runs of the delimiter regex `[^\\w']+`, whose `\\w` is ASCII-only
  in RE2: letters outside A-Z / a-z are delimiters ("café" -> "caf"), punctuation
  and emoji are dropped, "don't" stays one token;
* tokens are looked up case-sensitively (no lower-casing, no normalisation);
* the first `max_length` tokens are kept.

Bytes are decoded as UTF-8 with `errors="replace"` (U+FFFD is a delimiter).
"""

from __future__ import annotations

import collections
import json
import os
import re
import warnings
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from rnn_zoo import atomic
from rnn_zoo import limits
from rnn_zoo.data.readers import DataError
from rnn_zoo.tasks import DEFAULT_TOKENIZER
from rnn_zoo.tasks import TOKENIZERS

__all__ = [
    "OOV_ID",
    "PAD_ID",
    "TextVectorizer",
    "mediapipe_tokenize",
    "tokenize_tf",
    "vectorize_tf",
]

PAD_ID = 0
OOV_ID = 1
_FIRST_TOKEN_ID = 2
_PAD_TOKEN, _OOV_TOKEN = "", "[UNK]"
_VOCAB_FILE = "vocab.txt"
_CONFIG_FILE = "text_vectorizer.json"
_FORMAT_VERSION = 1
# Calls of `TextVectorizer.__call__` run eagerly before it compiles a `tf.function`.
_EAGER_CALLS = 3
# Limits checked before reading a saved vectorizer: far above any real vocabulary
# (20,000 tokens take ~200 KB), low enough that a hostile file can't exhaust memory.
MAX_VOCAB_BYTES = 256 * 1024 * 1024
MAX_CONFIG_BYTES = 1024 * 1024

# RE2 syntax (what tf.strings.regex_replace speaks): \pL letters, \pN digits, \pM marks,
# \pZ Unicode separators; RE2 has no look-around, hence the capture groups.
_CONTRACTION = r"(\pL)n't"
_PUNCTUATION = r"([^\pL\pN\pM\pZ\s'])"
# An apostrophe used as a quote mark (at a word edge) is punctuation too.
_QUOTE_BEFORE_WORD = r"(^|[\pZ\s])'"
_QUOTE_AFTER_WORD = r"'([\pZ\s]|$)"


# MediaPipe's RegexTokenizer delimiter (Model Maker's `[^\w\']+`), with RE2's
# ASCII-only `\w` spelt out for Python's `re`, whose `\w` is Unicode.
_MEDIAPIPE_DELIMITER = re.compile(r"[^0-9A-Za-z_']+")
_MEDIAPIPE_DELIMITER_RE2 = r"[^\w']+"


def _as_text(text: str | bytes) -> str:
    if isinstance(text, (bytes, bytearray)):
        return bytes(text).decode("utf-8", errors="replace")
    # A lone surrogate has no UTF-8 form; the phone never sees one.
    return text.encode("utf-8", errors="replace").decode("utf-8")


def as_texts(texts: Any, argument: str = "texts") -> list[str]:
    """Check texts given in any legal form and return them as a list of str.

    Bytes (Python or NumPy, alone or in an array) are decoded as UTF-8 with
    `errors="replace"`; str (NumPy str arrays included) is kept as is. A str
    that has no UTF-8 form (a lone surrogate such as "\\ud800") is refused
    rather than silently altered: TensorFlow strings are UTF-8 bytes.

    Args:
        texts: a str or bytes, or a sequence / rank-1 NumPy array (or eager
            `tf.string` tensor) of them.
        argument: the caller's argument name, for error messages.

    Returns:
        list of str.

    Raises:
        ValueError: naming `argument` and the index of the first bad text (not
            str or bytes, no UTF-8 form), or a NumPy array of rank > 1.

    Example:
        >>> as_texts(np.array([b"caf\\xc3\\xa9", b"\\xff"]))
        ['café', '\\ufffd']
    """
    if isinstance(texts, tf.Tensor):
        texts = texts.numpy()  # bytes, decoded below
    if isinstance(texts, (str, bytes, bytearray)):
        texts = [texts]
    elif isinstance(texts, np.ndarray):
        if texts.ndim > 1:
            raise ValueError(
                f"Invalid value received for argument `{argument}`: an array of shape "
                f"{texts.shape}. Expected one text or a rank-1 sequence of texts.")
        texts = [texts.item()] if texts.ndim == 0 else list(texts)
    else:
        try:
            texts = list(texts)
        except TypeError:
            raise ValueError(
                f"Invalid value received for argument `{argument}`: "
                f"{type(texts).__name__}. Expected a str or a sequence of str.") from None
    result = []
    for index, text in enumerate(texts):
        if isinstance(text, (bytes, bytearray)):
            result.append(bytes(text).decode("utf-8", errors="replace"))
            continue
        if not isinstance(text, str):
            raise ValueError(
                f"Invalid value received for argument `{argument}`: text {index} is a "
                f"{type(text).__name__}. Expected str or bytes.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError(
                f"Invalid value received for argument `{argument}`: text {index} has no "
                f"UTF-8 form ({error.reason} at position {error.start}, e.g. a lone "
                f"surrogate). Received: {argument}[{index}]={text[:40]!r}") from None
        result.append(str(text))
    return result


def mediapipe_tokenize(text: str | bytes) -> list[str]:
    """Split `text` exactly as MediaPipe Tasks' `RegexTokenizer` does.

    Args:
        text: a str, or bytes (decoded as UTF-8 with errors="replace").

    Returns:
        list of str tokens (ASCII letters, digits, "_" and "'"), in order.

    Example:
        >>> mediapipe_tokenize("Café isn't GOOD!!! 😀 x2")
        ['Caf', "isn't", 'GOOD', 'x2']
    """
    text = _as_text(text).split("\0", 1)[0]
    return [token for token in _MEDIAPIPE_DELIMITER.split(text) if token]


def _tokenize_mediapipe_tf(texts: tf.Tensor) -> tf.RaggedTensor:
    # RE2 (tf.strings) has the same ASCII-only `\w` as MediaPipe's RE2.
    texts = tf.strings.regex_replace(texts, r"\x00[\s\S]*", "")
    texts = tf.strings.regex_replace(texts, _MEDIAPIPE_DELIMITER_RE2, " ")
    return tf_text.WhitespaceTokenizer().tokenize(texts)


def tokenize_tf(texts: tf.Tensor, *, lowercase: bool = True) -> tf.RaggedTensor:
    """Normalise and tokenise a batch of strings with TF ops only.

    Args:
        texts: `tf.string` tensor of shape `[batch]`.
        lowercase: lower-case after NFKC normalisation. Default True.

    Returns:
        `tf.RaggedTensor` of `tf.string` tokens, shape `[batch, (tokens)]`.

    Example:
        >>> tokenize_tf(tf.constant(["The food isn't GOOD!"])).to_list()
        [[b'the', b'food', b'is', b"n't", b'good', b'!']]
    """
    texts = tf_text.normalize_utf8(texts, "NFKC")
    if lowercase:
        texts = tf.strings.lower(texts, encoding="utf-8")
    texts = tf.strings.regex_replace(texts, "[\u2019\u2018\u02bc]", "'")
    texts = tf.strings.regex_replace(texts, r"\bcannot\b", "can not")
    texts = tf.strings.regex_replace(texts, _CONTRACTION, r"\1 n't")
    texts = tf.strings.regex_replace(texts, _QUOTE_BEFORE_WORD, r"\1 ' ")
    texts = tf.strings.regex_replace(texts, _QUOTE_AFTER_WORD, r" ' \1")
    texts = tf.strings.regex_replace(texts, _PUNCTUATION, r" \1 ")
    return tf_text.WhitespaceTokenizer().tokenize(texts)


def vectorize_tf(
    texts: tf.Tensor,
    *,
    table: tf.lookup.StaticHashTable,
    max_length: int | None,
    lowercase: bool = True,
    tokenizer: str = DEFAULT_TOKENIZER,
) -> tf.Tensor:
    """Map strings to right-padded int32 token ids; a pure function of its arguments.

    Safe to trace inside `tf.function`, `tf.data.Dataset.map` and SavedModel signatures.
    When exporting, the SavedModel must track `table` (e.g. keep it as an attribute of
    the exported `tf.Module`), or the lookup has no vocabulary after loading.

    Args:
        texts: `tf.string` tensor of shape `[batch]` or a scalar.
        table: token (string) -> id (int64) table whose default value is `OOV_ID`, as
            `TextVectorizer.lookup_table` builds it.
        max_length: pad or truncate every sequence to this many ids; None pads to the
            longest sequence of the batch.
        lowercase: as in `tokenize_tf`. Default True.
        tokenizer: "default" (`tokenize_tf`) or "mediapipe" (MediaPipe's
            RegexTokenizer, see the module docstring; `lowercase` must be False).

    Returns:
        int32 tensor `[batch, max_length]` (`[max_length]` for a scalar input), 0 after
        the last token.

    Example:
        >>> table = TextVectorizer(vocabulary=["not", "good"]).lookup_table
        >>> vectorize_tf(tf.constant(["Not good!"]), table=table, max_length=4).numpy().tolist()
        [[2, 3, 1, 0]]
    """
    texts = tf.convert_to_tensor(texts, dtype=tf.string)
    scalar = texts.shape.rank == 0
    if scalar:
        texts = texts[tf.newaxis]
    if tokenizer == "mediapipe":
        tokens = _tokenize_mediapipe_tf(texts)
    else:
        tokens = tokenize_tf(texts, lowercase=lowercase)
    ids = tf.ragged.map_flat_values(table.lookup, tokens)
    ids = tf.cast(ids, tf.int32)
    ids = ids.to_tensor(default_value=PAD_ID, shape=[None, max_length])
    return ids[0] if scalar else ids


class TextVectorizer:
    """Turns raw strings into int32 token ids (0 = padding, 1 = OOV, tokens from 2).

    Build the vocabulary with `adapt` on training texts, then call the vectorizer on a
    list of strings to get a numpy array (any Keras backend), use `tf_vectorize` inside
    `tf.data` or a `tf.function`, or `make_dataset` for a ready `tf.data.Dataset`.
    See the module docstring for the tokenisation rules.

    Args:
        max_length: int or None. Pad/truncate every sequence to this many ids
            (1..`rnn_zoo.limits.MAX_LENGTH`); None pads each batch to its longest
            sequence. Default None.
        lowercase: bool. Lower-case after NFKC normalisation. Default True.
        vocabulary: optional sequence of str, the real tokens in id order (the first
            gets id 2). Default None: call `adapt` before use.
        tokenizer: "default" (tensorflow-text rules above) or "mediapipe" (exactly
            MediaPipe Tasks' RegexTokenizer, case-sensitive: needed to export for
            MediaPipe). Default "default".

    Example:
        >>> vectorizer = TextVectorizer(max_length=6)
        >>> vectorizer.adapt(["the food was good", "the food wasn't good"])
        >>> vectorizer(["The food isn't tasty"]).tolist()  # "is" and "tasty" are OOV
        [[4, 2, 1, 6, 1, 0]]

        >>> vectorizer.save("artifacts/text")  # doctest: +SKIP
        >>> same = TextVectorizer.load("artifacts/text")  # doctest: +SKIP
        >>> ds = vectorizer.make_dataset(["good", "bad"], [1, 0], batch_size=2, shuffle=True,
        ...                              seed=0)
    """

    def __init__(
        self,
        *,
        max_length: int | None = None,
        lowercase: bool | None = None,
        vocabulary: Sequence[str] | None = None,
        tokenizer: str = DEFAULT_TOKENIZER,
    ) -> None:
        if tokenizer not in TOKENIZERS:
            raise ValueError(
                f"Invalid value received for argument `tokenizer`. Expected one of "
                f"{TOKENIZERS}. Received: tokenizer={tokenizer!r}"
            )
        if lowercase is None:
            lowercase = tokenizer != "mediapipe"
        if tokenizer == "mediapipe" and lowercase:
            raise ValueError(
                "Invalid value received for argument `lowercase`: MediaPipe's RegexTokenizer "
                "looks tokens up case-sensitively, so tokenizer='mediapipe' can't lower-case."
                " Received: lowercase=True"
            )
        if max_length is not None and (
            not isinstance(max_length, (int, np.integer))
            or not 1 <= max_length <= limits.MAX_LENGTH
        ):
            # The upper bound refuses a length that would end in an allocation
            # failure deep inside TensorFlow when the first batch is padded.
            raise ValueError(
                "Invalid value received for argument `max_length`. Expected None or an "
                f"integer in 1..{limits.MAX_LENGTH} (MAX_LENGTH in rnn_zoo.limits). "
                f"Received: max_length={max_length!r}"
            )
        if not isinstance(lowercase, bool):
            raise ValueError(
                "Invalid value received for argument `lowercase`. Expected True or False."
                f" Received: lowercase={lowercase!r}"
            )
        self.max_length = None if max_length is None else int(max_length)
        self.lowercase = lowercase
        self.tokenizer = tokenizer
        self._index: dict[str, int] = {}
        self._tokens: tuple[str, ...] = ()
        self._table: tf.lookup.StaticHashTable | None = None
        self._numpy_fn = None
        self._eager_calls = 0
        # Recorded for provenance only (written to the JSON config by `save`).
        self._adapt_settings: dict[str, Any] = {}
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    # ------------------------------------------------------------------ vocabulary

    def adapt(
        self,
        texts: Iterable[str],
        *,
        max_tokens: int | None = None,
        min_count: int = 1,
        batch_size: int = 1024,
    ) -> None:
        """Build the vocabulary from training texts, most frequent tokens first.

        Ties in frequency are broken by the token's text, so the same texts always give
        the same ids. Tokens are produced by the same TF function used at inference.

        Args:
            texts: iterable of str (training texts only, to avoid leaking test words).
            max_tokens: int or None. Size of the whole id space including padding and
                OOV (as in `keras.layers.TextVectorization`), so at most
                `max_tokens - 2` real tokens are kept. Default None: no limit.
            min_count: keep tokens seen at least this many times. Default 1.
            batch_size: texts tokenised per TF call (memory bound). Default 1024.

        Returns:
            None; the vectorizer is ready to use.

        Example:
            >>> v = TextVectorizer(); v.adapt(["a b b"], max_tokens=3); v.vocabulary
            ('', '[UNK]', 'b')
        """
        if max_tokens is not None and max_tokens < 3:
            raise ValueError(
                "Invalid value received for argument `max_tokens`. Expected None or an integer >="
                f" 3 (padding, OOV and one token). Received: max_tokens={max_tokens!r}"
            )
        if min_count < 1:
            raise ValueError(
                "Invalid value received for argument `min_count`. Expected an integer >= 1."
                f" Received: min_count={min_count!r}"
            )
        counts: collections.Counter[str] = collections.Counter()
        batch: list[str] = []
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"`texts` must hold str, got {type(text).__name__}: {text!r}")
            batch.append(text)
            if len(batch) == batch_size:
                counts.update(self._count_tokens(batch))
                batch = []
        if batch:
            counts.update(self._count_tokens(batch))
        ranked = sorted(
            (t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t)
        )
        if max_tokens is not None:
            ranked = ranked[: max_tokens - _FIRST_TOKEN_ID]
        if not ranked:
            raise ValueError("adapt() found no token (empty texts, or min_count too high).")
        self.set_vocabulary(ranked)
        self._adapt_settings = {"max_tokens": max_tokens, "min_count": min_count}

    def _count_tokens(self, texts: list[str]) -> collections.Counter[str]:
        if self.tokenizer == "mediapipe":
            return collections.Counter(t for text in texts for t in mediapipe_tokenize(text))
        tokens = tokenize_tf(tf.constant(texts, dtype=tf.string), lowercase=self.lowercase)
        return collections.Counter(t.decode("utf-8") for t in tokens.flat_values.numpy())

    def set_vocabulary(self, tokens: Sequence[str]) -> None:
        """Use `tokens` (real tokens, in id order from 2) as the vocabulary.

        Args:
            tokens: distinct, non-empty strings without whitespace.

        Returns:
            None.

        Example:
            >>> v = TextVectorizer(vocabulary=["good", "bad"]); v(["bad ugly"]).tolist()
            [[3, 1]]
        """
        tokens = tuple(tokens)
        for i, token in enumerate(tokens):
            if not isinstance(token, str) or not token or token.split() != [token]:
                raise ValueError(
                    f"Vocabulary token {i} ({token!r}) must be a non-empty string without"
                    " whitespace."
                )
        if len(set(tokens)) != len(tokens):
            duplicate = next(t for t, c in collections.Counter(tokens).items() if c > 1)
            raise ValueError(f"Vocabulary has a duplicate token: {duplicate!r}.")
        if not tokens:
            raise ValueError("Vocabulary is empty.")
        self._tokens = tokens
        self._index = {token: i for i, token in enumerate(tokens, start=_FIRST_TOKEN_ID)}
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                keys=tf.constant(tokens, dtype=tf.string),
                values=tf.range(_FIRST_TOKEN_ID, _FIRST_TOKEN_ID + len(tokens), dtype=tf.int64),
            ),
            default_value=tf.constant(OOV_ID, dtype=tf.int64),
        )
        self._numpy_fn = None
        self._eager_calls = 0
        self._adapt_settings = {}

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """All tokens indexed by id: `("", "[UNK]", token_2, token_3, ...)`."""
        return (_PAD_TOKEN, _OOV_TOKEN) + self._tokens

    @property
    def vocab_size(self) -> int:
        """Number of ids, padding and OOV included (the Embedding's `input_dim`)."""
        return _FIRST_TOKEN_ID + len(self._tokens)

    @property
    def vocabulary_size(self) -> int:
        """Deprecated alias of `vocab_size`."""
        warnings.warn(
            "`TextVectorizer.vocabulary_size` is deprecated; use `vocab_size`.",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.vocab_size

    @property
    def lookup_table(self) -> tf.lookup.StaticHashTable:
        """The token -> id table; a SavedModel that calls `vectorize_tf` must track it."""
        self._require_vocabulary()
        return self._table

    def _require_vocabulary(self) -> None:
        if self._table is None:
            raise RuntimeError(
                "TextVectorizer has no vocabulary: call adapt(texts) or load(directory) first."
            )

    # ------------------------------------------------------------------ vectorising

    def tf_vectorize(self, texts: tf.Tensor) -> tf.Tensor:
        """TF path: `tf.string [batch]` (or scalar) -> int32 ids; use in `tf.data`/graphs.

        Args:
            texts: `tf.string` tensor of shape `[batch]` or a scalar.

        Returns:
            int32 tensor `[batch, max_length]` (`[max_length]` for a scalar).

        Example:
            >>> v = TextVectorizer(vocabulary=["good"], max_length=2)
            >>> ds = tf.data.Dataset.from_tensor_slices(["good", "bad"]).batch(2)
            >>> ds = ds.map(v.tf_vectorize)
            >>> next(iter(ds)).numpy().tolist()
            [[2, 0], [1, 0]]
        """
        self._require_vocabulary()
        return vectorize_tf(
            texts, table=self._table, max_length=self.max_length, lowercase=self.lowercase,
            tokenizer=self.tokenizer,
        )

    def __call__(self, texts: Sequence[str] | np.ndarray | str) -> np.ndarray:
        """Numpy path: a list of strings -> int32 array `[n, max_length]`.

        Runs the same TF ops as `tf_vectorize` (eagerly for the first few calls, then
        compiled once per vectorizer), so the ids are identical; the result is a plain
        numpy array for any backend.

        Args:
            texts: sequence of str or bytes, or a single one (gives `[1, max_length]`);
                see `as_texts` (bytes are decoded as UTF-8 with errors="replace").

        Returns:
            `np.ndarray` int32 `[n, max_length]` (`max_length` = longest when None).

        Raises:
            ValueError: a text that is not str or bytes, or a str with no UTF-8
                form (a lone surrogate), naming its index.

        Example:
            >>> TextVectorizer(vocabulary=["good"], max_length=3)(["good good"]).tolist()
            [[2, 2, 0]]
        """
        self._require_vocabulary()
        texts = as_texts(texts)
        if not texts:
            return np.zeros((0, self.max_length or 0), dtype=np.int32)
        if self.tokenizer == "mediapipe":
            return self.mediapipe_ids(texts, self.max_length)
        texts = tf.constant(texts, dtype=tf.string)
        # Tracing costs seconds, and many short-lived vectorizers (one per CV fold) each
        # tracing once make TensorFlow warn about retracing; so the first few calls run
        # eagerly (same ops, same ids) and only a vectorizer called repeatedly compiles.
        if self._numpy_fn is None and self._eager_calls < _EAGER_CALLS:
            self._eager_calls += 1
            return self.tf_vectorize(texts).numpy()
        if self._numpy_fn is None:
            self._numpy_fn = tf.function(
                self.tf_vectorize, input_signature=[tf.TensorSpec([None], tf.string)]
            )
        return self._numpy_fn(texts).numpy()

    def mediapipe_ids(self, texts: Sequence[str | bytes], length: int | None) -> np.ndarray:
        """Ids exactly as MediaPipe's text preprocessing computes them (pure Python).

        Args:
            texts: str or bytes (bytes decoded as UTF-8, errors="replace").
            length: keep the first `length` tokens and pad to it; None pads to the
                longest text.

        Returns:
            `np.ndarray` int32 `[len(texts), length]`.

        Example:
            >>> v = TextVectorizer(vocabulary=["Good"], tokenizer="mediapipe")
            >>> v.mediapipe_ids(["Good good!"], 3).tolist()
            [[2, 1, 0]]
        """
        self._require_vocabulary()
        rows = [[self._index.get(token, OOV_ID) for token in mediapipe_tokenize(text)]
                for text in texts]
        if length is None:
            length = max([len(row) for row in rows] + [1])
        ids = np.zeros((len(rows), length), dtype=np.int32)
        for i, row in enumerate(rows):
            row = row[:length]
            ids[i, : len(row)] = row
        return ids

    def make_dataset(
        self,
        texts: Sequence[str],
        labels: np.ndarray | Sequence[Any] | None = None,
        *,
        batch_size: int = 32,
        shuffle: bool = False,
        seed: int | None = None,
    ) -> tf.data.Dataset:
        """Build a batched `tf.data.Dataset` of `(ids, labels)` (or ids) from raw texts.

        Vectorisation runs in the pipeline (after batching, in parallel), so the same
        function that serving uses also produces the training ids. Works as `fit` input
        on every Keras backend.

        Args:
            texts: sequence of str.
            labels: optional array with one row per text (class ids, or per-token tags).
            batch_size: examples per batch. Default 32.
            shuffle: reshuffle every epoch (buffer = whole data set). Default False.
            seed: shuffle seed, for reproducible order. Default None.

        Returns:
            `tf.data.Dataset` yielding int32 `[batch, max_length]` ids (and labels).

        Example:
            >>> v = TextVectorizer(vocabulary=["good"], max_length=2)
            >>> ds = v.make_dataset(["good", "bad"], [1, 0], batch_size=64, shuffle=True, seed=0)
            >>> model.fit(ds, epochs=3)  # doctest: +SKIP
        """
        self._require_vocabulary()
        texts = list(texts)
        if not texts:
            raise ValueError("`texts` is empty; make_dataset needs at least one text.")
        text_tensor = tf.constant(texts, dtype=tf.string)
        if labels is None:
            ds = tf.data.Dataset.from_tensor_slices(text_tensor)
        else:
            labels = np.asarray(labels)
            if len(labels) != len(texts):
                raise ValueError(
                    f"`labels` has {len(labels)} rows, expected {len(texts)} (one per text)."
                )
            ds = tf.data.Dataset.from_tensor_slices((text_tensor, labels))
        if shuffle:
            ds = ds.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size)
        if labels is None:
            ds = ds.map(self.tf_vectorize, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        else:
            ds = ds.map(
                lambda t, y: (self.tf_vectorize(t), y),
                num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True,
            )
        return ds.prefetch(tf.data.AUTOTUNE)

    # ------------------------------------------------------------------ persistence

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, minus the vocabulary (saved as `vocab.txt`)."""
        config = {"max_length": self.max_length, "lowercase": self.lowercase}
        if self.tokenizer != DEFAULT_TOKENIZER:
            config["tokenizer"] = self.tokenizer
        return config

    def save(self, directory: str | os.PathLike) -> None:
        """Write `vocab.txt` (one token per line, line k = id k+1) and `text_vectorizer.json`.

        Args:
            directory: created if missing; existing files of these names are replaced.

        Returns:
            None.

        Example:
            >>> v.save("artifacts/text"); TextVectorizer.load("artifacts/text")  # doctest: +SKIP
        """
        self._require_vocabulary()
        os.makedirs(directory, exist_ok=True)
        config = {
            "format_version": _FORMAT_VERSION,
            "class": "TextVectorizer",
            "config": self.get_config(),
            "vocabulary_file": _VOCAB_FILE,
            "first_token_id": _FIRST_TOKEN_ID,
            "padding_id": PAD_ID,
            "oov_id": OOV_ID,
            "vocab_size": self.vocab_size,
            "normalization": "NFKC" if self.tokenizer == DEFAULT_TOKENIZER else None,
            "adapt": self._adapt_settings,
        }
        # A crash mid-write must not leave a truncated vocabulary that loads silently.
        atomic.write_text(
            os.path.join(directory, _VOCAB_FILE), "".join(t + "\n" for t in self._tokens)
        )
        atomic.write_text(
            os.path.join(directory, _CONFIG_FILE), json.dumps(config, indent=2) + "\n"
        )

    @classmethod
    def load(cls, directory: str | os.PathLike) -> TextVectorizer:
        """Rebuild a vectorizer written by `save`; the ids are identical.

        Args:
            directory: holds `vocab.txt` and `text_vectorizer.json`.

        Returns:
            `TextVectorizer`.

        Raises:
            DataError: malformed config, or a vocabulary line that is empty, holds
                whitespace or repeats a token (the message names file and line).

        Example:
            >>> vectorizer = TextVectorizer.load("artifacts/text")  # doctest: +SKIP
        """
        config_path = os.path.join(directory, _CONFIG_FILE)
        vocab_path = os.path.join(directory, _VOCAB_FILE)
        config_text = _read_limited(config_path, MAX_CONFIG_BYTES)
        try:
            saved = json.loads(config_text)
        except json.JSONDecodeError as err:
            raise DataError(
                f"{config_path}, line {err.lineno}: invalid JSON ({err.msg})."
            ) from None
        if not isinstance(saved, dict):
            raise DataError(f"{config_path}: expected a JSON object, got {type(saved).__name__}.")
        if saved.get("format_version") != _FORMAT_VERSION or saved.get("class") != "TextVectorizer":
            raise DataError(
                f"{config_path}: format_version={saved.get('format_version')!r},"
                f" class={saved.get('class')!r}; expected format_version={_FORMAT_VERSION} and"
                " class='TextVectorizer'."
            )
        config = saved.get("config")
        if not isinstance(config, dict) or set(config) - {"max_length", "lowercase",
                                                          "tokenizer"}:
            raise DataError(
                f"{config_path}: config {config!r}; expected an object with keys among"
                " 'max_length', 'lowercase' and 'tokenizer'."
            )
        lines = _read_limited(vocab_path, MAX_VOCAB_BYTES).split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the final newline
        seen: dict[str, int] = {}
        for line_no, token in enumerate(lines, start=1):
            if not token or token.split() != [token]:
                raise DataError(
                    f"{vocab_path}, line {line_no}: {token!r}; expected one token without"
                    " whitespace."
                )
            if token in seen:
                raise DataError(
                    f"{vocab_path}, line {line_no}: token {token!r} repeats line {seen[token]}."
                )
            seen[token] = line_no
        if not lines:
            raise DataError(f"{vocab_path}: no token; expected one token per line.")
        # Files written before the rename carry "vocabulary_size"; either must agree.
        recorded = saved.get("vocab_size", saved.get("vocabulary_size"))
        if recorded is not None and recorded != _FIRST_TOKEN_ID + len(lines):
            raise DataError(
                f"{config_path}: vocab_size={recorded!r}, but {vocab_path} holds"
                f" {len(lines)} tokens (vocab_size {_FIRST_TOKEN_ID + len(lines)})."
            )
        try:
            vectorizer = cls(**config, vocabulary=lines)
        except ValueError as err:
            raise DataError(f"{config_path}: {err}") from None
        adapt = saved.get("adapt", {})
        vectorizer._adapt_settings = dict(adapt) if isinstance(adapt, dict) else {}
        return vectorizer


def _read_limited(path: str, limit: int) -> str:
    """A UTF-8 file's text, refusing files over `limit` bytes before reading them."""
    size = os.path.getsize(path)  # FileNotFoundError names the path
    if size > limit:
        raise DataError(f"{path}: {size} bytes; expected at most {limit}.")
    with open(path, "rb") as f:
        raw = f.read(limit + 1)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: bytes are not valid UTF-8.") from None
