"""The featuriser every head shares, computed once per batch.

Word TF-IDF (1-2 grams) and character TF-IDF (char_wb 2-5 grams) over normalised text (URLs and
numbers replaced, @handles kept as tokens, elongations shortened), VADER scores, surface cues
(!, ?, capitals, links, handles, length), counts of hand-written lexicon cues (text.py) and, in
an embedding profile, the sentence embedding (embeddings.py) in the last columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from .config import embedding_precision, embedding_threads
from .text import N_DENSE, dense_features, normalise

TOKEN_PATTERN = r"(?u)[\w']+|[^\w\s]"
# The sentence embedding's width (all-MiniLM-L6-v2); embeddings.DIMENSIONS, without importing it
EMBEDDING_DIMENSIONS = 384


class Featurizer:
    def __init__(self, config: dict):
        self.config = config
        self.word = TfidfVectorizer(ngram_range=tuple(config["word_ngrams"]), min_df=config["min_df"],
                                    sublinear_tf=True, lowercase=False, token_pattern=TOKEN_PATTERN,
                                    dtype=np.float32)
        self.char = TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(config["char_ngrams"]),
                                    min_df=config["min_df"], sublinear_tf=True, lowercase=False,
                                    max_features=config["max_char_features"], dtype=np.float32)

    def fit(self, texts: Sequence[str]) -> Featurizer:
        normalised = [normalise(t) for t in texts]
        self.word.fit(normalised)
        self.char.fit(normalised)
        return self

    def transform(self, texts: Sequence[str], *, embed: bool = True) -> tuple[sp.csr_matrix, list[dict]]:
        """The feature matrix (the embedding, when configured and `embed`, in the last `n_embedding`
        columns) and the VADER scores of each text."""
        normalised = [normalise(t) for t in texts]
        dense, scores = dense_features(list(texts), self.config["lexicon_scale"])
        X = sp.hstack([self.word.transform(normalised), self.char.transform(normalised), dense], format="csr",
                      dtype=np.float64)
        if embed and self.n_embedding:
            X = self.add_embedding(X, texts)
        return X, scores

    def add_embedding(self, X, texts: Sequence[str]) -> sp.csr_matrix:
        """`X` (features without the embedding) with the texts' embedding appended. Each post is
        encoded on its own, at the model's precision and thread count (embeddings.encode), so its
        columns depend on its text alone."""
        from . import embeddings  # torch and the encoder: only in a process that embeds

        E = embeddings.encode(list(texts), layers=self.config.get("embedding_layers"),
                              precision=embedding_precision(self.config),
                              threads=embedding_threads(self.config)) * self.config["embedding_scale"]
        return sp.hstack([X, sp.csr_matrix(E)], format="csr", dtype=np.float64)

    @property
    def n_dense(self) -> int:
        return N_DENSE

    @property
    def n_embedding(self) -> int:
        return EMBEDDING_DIMENSIONS if self.config.get("embeddings") else 0
