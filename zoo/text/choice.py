"""The shared text encoder a task's config asks for: the BiLSTM (with word vectors or not) or a BERT."""

from zoo.local_weights import LocalWeightsError
from zoo.text.encoder import TextEncoder

TEXT_MODELS = ("bilstm", "bert")


def build_text_encoder(config, vocabulary):
    """The text encoder of a `TaskConfig`'s text fields, over `vocabulary`, named `text_encoder`.

    - `text_model="bilstm"`: `TextEncoder` (`embedding_dim`, `text_units`); `word_vectors` (a file)
      initialises its token embedding, `train_word_vectors=False` freezes it.
    - `text_model="bert"`: `BertTextEncoder` from the local keras-hub preset folder `bert_preset`,
      or with random weights, `bert_layers` layers, `bert_heads` heads and width `2 * text_units`
      (the BiLSTM's feature width).

    Example:
        encoder = build_text_encoder(zoo.build("matcher_tiny").config, shapes_vocabulary())
    """
    if config.text_model not in TEXT_MODELS:
        raise ValueError(f"text_model must be one of {TEXT_MODELS}, got {config.text_model!r}.")
    if config.text_model == "bert":
        return _bert(config, vocabulary)
    if config.bert_preset:
        raise ValueError(f"bert_preset={config.bert_preset!r} is for text_model='bert'; this config has "
                         f"text_model='bilstm'. Set text_model='bert', or bert_preset=''.")
    encoder = TextEncoder(vocabulary_size=len(vocabulary), max_length=config.max_length,
                          embedding_dim=config.embedding_dim, units=config.text_units,
                          train_embedding=config.train_word_vectors, name="text_encoder")
    if config.word_vectors:
        _set_word_vectors(encoder, config.word_vectors, vocabulary)
    return encoder


def _bert(config, vocabulary):
    from zoo.text.bert import BertTextEncoder

    if config.word_vectors:
        raise ValueError(f"word_vectors={config.word_vectors!r} initialise the BiLSTM encoder's embedding; "
                         "text_model='bert' has its own (bert_preset). Set word_vectors='' or text_model='bilstm'.")
    hidden = 2 * config.text_units
    if hidden % config.bert_heads:
        raise ValueError(f"The random BERT's width 2 * text_units = {hidden} must divide by bert_heads="
                         f"{config.bert_heads}.")
    return BertTextEncoder(vocabulary, config.max_length, preset=config.bert_preset or None,
                           num_layers=config.bert_layers, num_heads=config.bert_heads, hidden_dim=hidden,
                           name="text_encoder")


def _set_word_vectors(encoder, path, vocabulary):
    from zoo.text.word_vectors import read_word_vectors, report_missing_words, word_vector_matrix

    vectors = read_word_vectors(path)
    if vectors.vector_size != encoder.embedding_dim:
        raise LocalWeightsError(f"The word vectors in {str(path)!r} have {vectors.vector_size} dimensions, but "
                                f"embedding_dim={encoder.embedding_dim}: set embedding_dim={vectors.vector_size} "
                                f"(zoo train ... --set model.embedding_dim={vectors.vector_size}).")
    matrix, missing = word_vector_matrix(vectors, vocabulary)
    report_missing_words(path, missing, vocabulary)
    encoder.set_word_vectors(matrix)
