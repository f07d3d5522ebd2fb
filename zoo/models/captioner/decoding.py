"""The captioner's decoding in graph: greedy and beam search over fixed-shape buffers, and the
cached `tf.function`s that `caption` runs on plain images.

`CaptionDecoding` is mixed into the `Captioner` task; its methods read the task's networks.
"""

import numpy as np
import tensorflow as tf

from zoo.models.base import check_images
from zoo.text import END_ID, PAD_ID, START_ID, UNK_ID

# Large negative log-probability for impossible choices; finite so that sums and
# divisions of scores never produce NaN the way -inf - -inf would.
_IMPOSSIBLE = -1e9
# Decoding never emits these: padding, a second [START], or [UNK] (a word the caption cannot show).
_NEVER_GENERATED = (PAD_ID, UNK_ID, START_ID)


class CaptionDecoding:
    """Greedy decoding, beam search and captions with attention maps, for the `Captioner` task."""

    # === In-graph decoding ===
    def _decoding_start(self, images):
        grid = self.image_encoder(images, training=False)
        start = self.decoder_start({"grid": grid}, training=False)
        return grid, start

    def _next_log_probs(self, token, hidden, cell, grid, projected_grid):
        """Log-probabilities [B, V] of the next word, with [PAD], [UNK] and [START] ruled out."""
        outputs = self.decoder_step(
            {"token": token, "hidden": hidden, "cell": cell, "grid": grid, "projected_grid": projected_grid},
            training=False,
        )
        log_probs = tf.nn.log_softmax(tf.cast(outputs["logits"], tf.float32), axis=-1)
        # Only words and [END] may come next; [END] is how a caption stops.
        forbidden = tf.one_hot(_NEVER_GENERATED, len(self.vocabulary), on_value=_IMPOSSIBLE, dtype=tf.float32)
        log_probs += tf.reduce_sum(forbidden, axis=0)
        return log_probs, tf.cast(outputs["attention"], tf.float32), outputs["hidden"], outputs["cell"]

    def greedy_decode(self, images):
        """Greedy decoding in graph: the likeliest word at each step until [END].

        Args:
            images: float32 [B, S, S, 3] in [-1, 1].

        Returns:
            A dict: `tokens` int32 [B, L] ([START], words, [END], then [PAD]), `scores`
            float32 [B] (log-probability per generated token, [END] included) and
            `attention` float32 [B, L-1, G*G] (zeros after [END]).
        """
        grid, start = self._decoding_start(images)
        batch = tf.shape(grid)[0]
        steps = self.config.max_length - 1
        cells = self.config.grid_size**2

        def body(step, token, hidden, cell, finished, log_prob_sum, length, tokens, attention):
            log_probs, weights, hidden, cell = self._next_log_probs(
                token, hidden, cell, grid, start["projected_grid"]
            )
            word = tf.where(finished, PAD_ID, tf.argmax(log_probs, axis=-1, output_type=tf.int32))
            live = tf.cast(tf.logical_not(finished), tf.float32)
            log_prob_sum += live * tf.gather(log_probs, word, batch_dims=1)
            length += live
            tokens = _write(tokens, 1, step + 1, word)
            attention = _write(attention, 1, step, weights * live[:, None])
            finished = tf.logical_or(finished, tf.equal(word, END_ID))
            return step + 1, word, hidden, cell, finished, log_prob_sum, length, tokens, attention

        initial = (
            tf.constant(0),
            tf.fill([batch], START_ID),
            start["hidden"],
            start["cell"],
            tf.zeros([batch], tf.bool),
            tf.zeros([batch]),
            tf.zeros([batch]),
            _start_tokens([batch], self.config.max_length),
            tf.zeros([batch, steps, cells]),
        )
        _, _, _, _, _, log_prob_sum, length, tokens, attention = _decoding_loop(body, initial, steps)
        return {"tokens": tokens, "scores": log_prob_sum / tf.maximum(length, 1.0), "attention": attention}

    def beam_search(self, images, beam_size=3):
        """Beam search in graph, ranking hypotheses by length-normalised log-probability.

        Each beam stops at [END] (then only pads, at no cost); the search ends when
        every beam has stopped or after `max_length - 1` words. `beam_size=1` is greedy
        decoding.

        Args:
            images: float32 [B, S, S, 3] in [-1, 1].
            beam_size: number of hypotheses kept per image (a Python int).

        Returns:
            A dict: `tokens` int32 [B, K, L], `scores` float32 [B, K] (mean log-probability
            per generated token, best first) and `attention` float32 [B, K, L-1, G*G].
        """
        beam_size = self._check_beam_size(beam_size)
        vocabulary_size = len(self.vocabulary)
        grid, start = self._decoding_start(images)
        batch = tf.shape(grid)[0]
        steps = self.config.max_length - 1
        cells = self.config.grid_size**2
        grid = tf.repeat(grid, beam_size, axis=0)
        projected_grid = tf.repeat(start["projected_grid"], beam_size, axis=0)
        # A stopped beam may only add [PAD], which costs nothing and keeps its length.
        pad_only = tf.one_hot(PAD_ID, vocabulary_size, on_value=0.0, off_value=_IMPOSSIBLE)

        def body(step, token, hidden, cell, finished, log_prob_sum, length, tokens, attention):
            log_probs, weights, hidden, cell = self._next_log_probs(token, hidden, cell, grid, projected_grid)
            log_probs = tf.reshape(log_probs, [batch, beam_size, vocabulary_size])
            log_probs = tf.where(finished[..., None], pad_only, log_probs)
            candidate_sum = log_prob_sum[..., None] + log_probs
            candidate_length = length + tf.cast(tf.logical_not(finished), tf.float32)
            candidate_score = candidate_sum / candidate_length[..., None]
            _, best = tf.math.top_k(tf.reshape(candidate_score, [batch, -1]), k=beam_size)
            beam, word = best // vocabulary_size, best % vocabulary_size
            log_prob_sum = tf.gather(tf.reshape(candidate_sum, [batch, -1]), best, batch_dims=1)
            length = tf.gather(candidate_length, beam, batch_dims=1)
            was_finished = tf.gather(finished, beam, batch_dims=1)
            weights = tf.gather(tf.reshape(weights, [batch, beam_size, cells]), beam, batch_dims=1)
            weights *= tf.cast(tf.logical_not(was_finished), tf.float32)[..., None]
            tokens = _write(tf.gather(tokens, beam, batch_dims=1), 2, step + 1, word)
            attention = _write(tf.gather(attention, beam, batch_dims=1), 2, step, weights)
            hidden, cell = (_gather_beams(state, beam, beam_size) for state in (hidden, cell))
            finished = tf.logical_or(was_finished, tf.equal(word, END_ID))
            return step + 1, tf.reshape(word, [-1]), hidden, cell, finished, log_prob_sum, length, tokens, attention

        # Only the first beam is alive at the start, so the first step expands one hypothesis.
        first_beam_only = tf.concat([[0.0], tf.fill([beam_size - 1], _IMPOSSIBLE)], axis=0)
        initial = (
            tf.constant(0),
            tf.fill([batch * beam_size], START_ID),
            tf.repeat(start["hidden"], beam_size, axis=0),
            tf.repeat(start["cell"], beam_size, axis=0),
            tf.zeros([batch, beam_size], tf.bool),
            tf.tile(first_beam_only[None], [batch, 1]),
            tf.zeros([batch, beam_size]),
            _start_tokens([batch, beam_size], self.config.max_length),
            tf.zeros([batch, beam_size, steps, cells]),
        )
        _, _, _, _, _, log_prob_sum, length, tokens, attention = _decoding_loop(body, initial, steps)
        # top_k left the beams sorted by this very score.
        return {"tokens": tokens, "scores": log_prob_sum / tf.maximum(length, 1.0), "attention": attention}

    # === Plain inputs ===
    def _best_caption_function(self, beam_size):
        """A cached `tf.function` giving the best hypothesis's tokens, score and attention."""
        if beam_size not in self._compiled_decoders:
            size = self.config.image_size

            def best(images):
                if beam_size == 1:
                    return self.greedy_decode(images)
                result = self.beam_search(images, beam_size)
                return {name: value[:, 0] for name, value in result.items()}

            signature = [tf.TensorSpec([None, size, size, 3], tf.float32)]
            # The loops are explicit `tf.while_loop`s: nothing for autograph to convert.
            self._compiled_decoders[beam_size] = tf.function(best, input_signature=signature, autograph=False)
        return self._compiled_decoders[beam_size]

    def _check_beam_size(self, beam_size):
        # Every beam needs a distinct first word.
        largest = len(self.vocabulary) - len(_NEVER_GENERATED)
        if isinstance(beam_size, bool) or not isinstance(beam_size, (int, np.integer)) or not 1 <= beam_size <= largest:
            raise ValueError(f"beam_size must be an int in 1..{largest}, got {beam_size!r}.")
        return int(beam_size)

    def decode_best(self, images, beam_size):
        return self._best_caption_function(self._check_beam_size(beam_size))(images)

    def caption_with_attention(self, images, beam_size=3):
        """The best caption's token ids, score and attention maps, for inspecting what the model looked at.

        Returns:
            `(tokens, scores, attention)` as numpy: int32 [N, L] (with [START]/[END]),
            float32 [N] (mean log-probability per word) and float32 [N, L-1, G, G]
            (the map used to predict token i + 1 at index i; zeros after [END]).
        """
        result = self.decode_best(check_images(images, self.config.image_size), beam_size)
        grid = self.config.grid_size
        attention = tf.reshape(result["attention"], [-1, self.config.max_length - 1, grid, grid])
        return result["tokens"].numpy(), result["scores"].numpy(), attention.numpy()


def _decoding_loop(body, initial, steps):
    """`tf.while_loop` over decoding steps until every hypothesis has stopped (loop variable 4)."""

    def not_done(step, token, hidden, cell, finished, *rest):
        return tf.logical_and(step < steps, tf.logical_not(tf.reduce_all(finished)))

    def same_shapes_body(*variables):
        # Reshapes inside the body lose the static batch size; the loop needs it constant.
        return tuple(tf.ensure_shape(new, old.shape) for new, old in zip(body(*variables), variables))

    return tf.while_loop(not_done, same_shapes_body, initial, maximum_iterations=steps)


def _start_tokens(batch_shape, max_length):
    """[START] followed by padding: the token buffer decoding writes into."""
    first = tf.one_hot(0, max_length, on_value=START_ID, off_value=PAD_ID, dtype=tf.int32)
    return tf.broadcast_to(first, tf.concat([batch_shape, [max_length]], axis=0))


def _gather_beams(state, beam, beam_size):
    """Rows [B * K, U] of a flat beam state, reordered by the chosen beams [B, K]."""
    units = state.shape[-1]
    chosen = tf.gather(tf.reshape(state, [-1, beam_size, units]), beam, batch_dims=1)
    return tf.reshape(chosen, [-1, units])


def _write(buffer, axis, position, values):
    """`buffer` with `values` written at index `position` of `axis`: a fixed shape, so XLA can compile it."""
    length = buffer.shape[axis]
    at_position = tf.one_hot(position, length, on_value=True, off_value=False)
    at_position = tf.reshape(at_position, [1] * axis + [length] + [1] * (len(buffer.shape) - axis - 1))
    return tf.where(at_position, tf.expand_dims(values, axis), buffer)
