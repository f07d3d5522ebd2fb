"""`run_layer_test`: the checks every custom layer gets, as keras-hub's `run_layer_test` does.

For a layer class, its constructor arguments and example inputs, it checks that the layer
- builds and runs, with finite outputs of the expected shapes, as `compute_output_shape` says;
- has the expected numbers of trainable and non-trainable weights, and every trainable
  weight gets a finite gradient from the outputs;
- round-trips through `get_config`/`from_config` and `keras.layers.serialize`/`deserialize`
  (registered under `zoo>`), giving the same outputs with the same weights;
- gives the same outputs in a `tf.function` as eagerly.

Example:
    run_layer_test(FiLM, {}, [features, condition], expected_output_shape=(2, 4, 4, 8),
                   expected_trainable_weights=4)
"""

import keras
import numpy as np
import tensorflow as tf


def _flat(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _shape_of(value):
    return tuple(int(d) for d in value.shape)


def _input_shapes(inputs):
    if isinstance(inputs, (list, tuple)):
        return [_shape_of(x) for x in inputs]
    return _shape_of(inputs)


def run_layer_test(layer_class, init_kwargs, inputs, expected_output_shape, expected_trainable_weights,
                   expected_non_trainable_weights=0, call_kwargs=None, training_call_kwargs=None):
    """Build `layer_class(**init_kwargs)` on `inputs` and run the checks above; returns the layer.

    `expected_output_shape` is a shape tuple, or a list of them for a layer with several outputs.
    `call_kwargs` are passed to every call that is compared; `training_call_kwargs` to the call
    the gradients are taken through (default: `call_kwargs`).
    """
    call_kwargs = call_kwargs or {}
    layer = layer_class(**init_kwargs)
    outputs = _flat(layer(inputs, **call_kwargs))
    expected = expected_output_shape if isinstance(expected_output_shape, list) else [expected_output_shape]
    assert [_shape_of(o) for o in outputs] == [tuple(s) for s in expected]
    for output in outputs:
        assert np.all(np.isfinite(np.asarray(output, np.float32))), layer_class.__name__
    declared = layer.compute_output_shape(_input_shapes(inputs))
    if not declared or not isinstance(declared[0], (list, tuple)):  # one shape, not a list of them
        declared = [declared]
    assert [tuple(s) for s in declared] == [tuple(s) for s in expected], "compute_output_shape disagrees"
    # === Weights, and a gradient for each trainable one ===
    assert len(layer.trainable_weights) == expected_trainable_weights, [w.path for w in layer.trainable_weights]
    assert len(layer.non_trainable_weights) == expected_non_trainable_weights, \
        [w.path for w in layer.non_trainable_weights]
    if expected_trainable_weights:
        with tf.GradientTape() as tape:
            loss = tf.add_n([tf.reduce_sum(tf.square(tf.cast(o, tf.float32)))
                             for o in _flat(layer(inputs, **(training_call_kwargs or call_kwargs)))])
        gradients = tape.gradient(loss, layer.trainable_weights)
        for weight, gradient in zip(layer.trainable_weights, gradients):
            assert gradient is not None and np.all(np.isfinite(gradient)), weight.path
    # === Config and serialization round trips ===
    reference = [np.asarray(o) for o in _flat(layer(inputs, **call_kwargs))]
    serialized = keras.layers.serialize(layer)
    assert serialized["registered_name"].startswith("zoo>") or layer_class.__module__.startswith("keras"), \
        serialized["registered_name"]
    for clone in (layer_class.from_config(layer.get_config()), keras.layers.deserialize(serialized)):
        assert clone.get_config() == layer.get_config()
        clone(inputs, **call_kwargs)
        clone.set_weights(layer.get_weights())
        for got, want in zip(_flat(clone(inputs, **call_kwargs)), reference):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # === Compiled as eager ===
    compiled = tf.function(lambda x: layer(x, **call_kwargs))
    for got, want in zip(_flat(compiled(inputs)), reference):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    return layer
