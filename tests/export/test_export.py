"""SavedModels for TF Serving: signatures agree with the Python models, requests, config, ops."""

import base64
import functools
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from PIL import Image
from tensorflow.core.framework import graph_pb2  # noqa: F401
from tensorflow.python.framework import op_def_registry
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.config import model_server_config_pb2

import zoo
from zoo.data import shapes
from zoo.export import export

from tests.images import assert_same_up_to_rounding

SIZE = 32
SCENES = [shapes.scene("test", i, image_size=SIZE) for i in range(3)]
IMAGES = np.stack([s["image"] for s in SCENES])
CAPTIONS = [s["captions"][0] for s in SCENES]


@pytest.fixture(scope="module")
def exported(tiny_exports):
    """The session's tiny exports (tests/conftest.py): `(folder, models, paths)`, keyed by tiny name."""
    out, models, paths = tiny_exports
    return Path(out), models, paths


def _load(path):
    return tf.saved_model.load(path)


def test_text_to_image_signatures_match_the_model(exported):
    _, models, paths = exported
    served = _load(paths["cgan_t2i_tiny"])
    seeded = served.signatures["seeded"](captions=tf.constant(CAPTIONS), seeds=tf.constant([7, 8, 9], tf.int64))
    assert_same_up_to_rounding(seeded["images"].numpy(), models["cgan_t2i_tiny"].generate(CAPTIONS, seeds=7))
    again = served.signatures["seeded"](captions=tf.constant(CAPTIONS), seeds=tf.constant([7, 8, 9], tf.int64))
    np.testing.assert_array_equal(again["images"].numpy(), seeded["images"].numpy())
    random = served.signatures["serving_default"](captions=tf.constant(CAPTIONS))["images"]
    assert random.dtype == tf.uint8 and random.shape == (3, SIZE, SIZE, 3)


def _png(image):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def test_captioner_signatures_match_the_model(exported):
    _, models, paths = exported
    served = _load(paths["captioner_tiny"])
    expected = models["captioner_tiny"].caption(IMAGES, beam_size=3)
    pixels = served.signatures["pixels"](images=tf.constant(IMAGES))
    assert [c.decode() for c in pixels["captions"].numpy()] == expected
    assert pixels["scores"].dtype == tf.float32 and pixels["scores"].shape == (3,)
    encoded = served.signatures["serving_default"](images=tf.constant([_png(i) for i in IMAGES]))
    assert [c.decode() for c in encoded["captions"].numpy()] == expected
    big = np.asarray(Image.fromarray(IMAGES[0]).resize((96, 64)))  # any size is accepted
    assert served.signatures["serving_default"](images=tf.constant([_png(big)]))["captions"].shape == (1,)


def test_inpainting_signature_matches_and_keeps_known_pixels(exported):
    _, models, paths = exported
    masks = np.stack([shapes.mask("box", i, image_size=SIZE) for i in range(3)])
    captions = [CAPTIONS[0], "", CAPTIONS[2]]
    served = _load(paths["cgan_inpaint_tiny"]).signatures["serving_default"]
    out = served(images=tf.constant(IMAGES), masks=tf.constant(masks * 255), captions=tf.constant(captions))["images"]
    assert_same_up_to_rounding(out.numpy(), models["cgan_inpaint_tiny"].inpaint(IMAGES, masks, captions))
    known = masks[..., 0] == 0
    np.testing.assert_array_equal(out.numpy()[known], IMAGES[known])


def test_an_inpainter_without_text_serves_images_and_masks_alone(tmp_path):
    model = zoo.build("cgan_inpaint_tiny", use_text=False).build_all()
    path = export(model, str(tmp_path), "plain_inpaint")
    served = _load(path).signatures["serving_default"]
    assert sorted(served.structured_input_signature[1]) == ["images", "masks"]
    masks = np.stack([shapes.mask("stroke", i, image_size=SIZE) for i in range(3)])
    out = served(images=tf.constant(IMAGES), masks=tf.constant(masks * 255))["images"].numpy()
    assert_same_up_to_rounding(out, model.inpaint(IMAGES, masks))
    known = masks[..., 0] == 0
    np.testing.assert_array_equal(out[known], IMAGES[known])
    loaded = zoo.load("plain_inpaint", path=str(tmp_path))
    np.testing.assert_array_equal(loaded.inpaint(IMAGES, masks), out)
    np.testing.assert_array_equal(loaded.inpaint(IMAGES, masks, ["", "", " "]), out)
    with pytest.raises(ValueError, match="trained without text and takes no captions"):
        loaded.inpaint(IMAGES, masks, ["a red circle", "", ""])


def test_image_to_image_signature_matches_the_model(exported):
    _, models, paths = exported
    label_maps = np.stack([s["label_map"] for s in SCENES])
    loaded = _load(paths["cgan_i2i_tiny"])
    out = loaded.signatures["serving_default"](inputs=tf.constant(label_maps))["images"]
    assert_same_up_to_rounding(out.numpy(), models["cgan_i2i_tiny"].translate(label_maps))
    # `seeded`: the paper's test-time dropout, one draw per example from its seed, as `translate(seeds=)`.
    seeded = loaded.signatures["seeded"](inputs=tf.constant(label_maps), seeds=tf.constant([4, 5, 6], tf.int64))
    assert_same_up_to_rounding(seeded["images"].numpy(), models["cgan_i2i_tiny"].translate(label_maps, seeds=4))


def test_saved_model_cli_shows_the_signatures(exported):
    _, _, paths = exported
    cli = [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "show", "--all", "--dir"]
    shown = subprocess.run([*cli, paths["cgan_t2i_tiny"]], capture_output=True, text=True, check=True).stdout
    assert "signature_def['seeded']" in shown and "signature_def['serving_default']" in shown
    assert "inputs['captions'] tensor_info" in shown and "inputs['seeds'] tensor_info" in shown
    assert "outputs['images'] tensor_info" in shown and "dtype: DT_UINT8" in shown
    shown = subprocess.run([*cli, paths["captioner_tiny"]], capture_output=True, text=True, check=True).stdout
    assert "signature_def['pixels']" in shown and "outputs['scores'] tensor_info" in shown


def _rest_to_tensors(body, signature):
    """Decode a TF Serving REST predict body ("instances" row or "inputs" column format) as the server does."""
    specs = signature.structured_input_signature[1]
    if "instances" in body:
        rows = body["instances"]
        columns = {name: [row[name] for row in rows] for name in specs}
    else:
        columns = body["inputs"]

    def decode(value):
        if isinstance(value, dict) and "b64" in value:
            return base64.b64decode(value["b64"])
        if isinstance(value, list):
            return [decode(v) for v in value]
        return value

    return {name: tf.constant(decode(columns[name]), dtype=spec.dtype) for name, spec in specs.items()}


def test_rest_requests_in_both_formats(exported):
    _, models, paths = exported
    served = _load(paths["cgan_t2i_tiny"]).signatures["seeded"]
    row = json.loads(json.dumps({"signature_name": "seeded",
                                 "instances": [{"captions": c, "seeds": s} for c, s in zip(CAPTIONS, [7, 8, 9])]}))
    column = json.loads(json.dumps({"signature_name": "seeded", "inputs": {"captions": CAPTIONS, "seeds": [7, 8, 9]}}))
    expected = models["cgan_t2i_tiny"].generate(CAPTIONS, seeds=7)
    for body in (row, column):
        assert_same_up_to_rounding(served(**_rest_to_tensors(body, served))["images"].numpy(), expected)
    captioner = _load(paths["captioner_tiny"]).signatures["serving_default"]
    body = {"instances": [{"images": {"b64": base64.b64encode(_png(i)).decode()}} for i in IMAGES]}
    captions = captioner(**_rest_to_tensors(json.loads(json.dumps(body)), captioner))["captions"].numpy()
    assert [c.decode() for c in captions] == models["captioner_tiny"].caption(IMAGES)


def test_grpc_predict_request(exported):
    _, models, paths = exported
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "cgan_i2i_shapes"
    request.model_spec.signature_name = "serving_default"
    label_maps = np.stack([s["label_map"] for s in SCENES])
    request.inputs["inputs"].CopyFrom(tf.make_tensor_proto(label_maps))
    wire = predict_pb2.PredictRequest.FromString(request.SerializeToString())
    served = _load(paths["cgan_i2i_tiny"]).signatures[wire.model_spec.signature_name]
    inputs = {name: tf.constant(tf.make_ndarray(proto)) for name, proto in wire.inputs.items()}
    assert_same_up_to_rounding(served(**inputs)["images"].numpy(), models["cgan_i2i_tiny"].translate(label_maps))


def test_models_config_parses_with_tf_serving_proto(exported):
    out, _, _ = exported
    config = text_format.Parse((out / "models.config").read_text(), model_server_config_pb2.ModelServerConfig())
    names = sorted(c.name for c in config.model_config_list.config)
    assert names == ["captioner_shapes", "cgan_i2i_facades", "cgan_i2i_facades_l1only", "cgan_i2i_shapes",
                     "cgan_inpaint_facades", "cgan_inpaint_shapes", "cgan_t2i_shapes", "cvae_t2i_shapes",
                     "regression_t2i_shapes"]
    for entry in config.model_config_list.config:
        assert entry.base_path == f"/models/{entry.name}" and entry.model_platform == "tensorflow"
    assert sorted(p.name for p in (out / "cgan_t2i_shapes").iterdir()) == ["1"]


def _graph_ops(path):
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((path / "saved_model.pb").read_bytes())
    graph = saved.meta_graphs[0].graph_def
    ops = {node.op for node in graph.node}
    must_compile = []
    for function in graph.library.function:
        ops |= {node.op for node in function.node_def}
        if function.attr.get("_XlaMustCompile") and function.attr["_XlaMustCompile"].b:
            must_compile.append(function.signature.name)
    return ops - {f.signature.name for f in graph.library.function}, must_compile


def test_exported_graphs_use_only_core_tensorflow_and_tensorflow_text_ops(exported):
    import tensorflow_text  # noqa: F401  (registers its ops, the only non-core ops allowed)

    _, _, paths = exported
    from pathlib import Path

    for name, path in paths.items():
        ops, must_compile = _graph_ops(Path(path))
        unknown = sorted(op for op in ops if op_def_registry.get(op) is None)
        assert not unknown, f"{name} uses ops outside TensorFlow and tensorflow-text: {unknown}"
        assert not must_compile, f"{name} has XLA-compiled functions: {must_compile}"
        assert not [op for op in ops if op.startswith("Xla")], name


def test_zoo_export_gives_a_run_its_own_name_and_keeps_pretrained_names(tiny_savedmodels, tmp_path, monkeypatch,
                                                                       capsys):
    """`zoo export --workdir RUN --out savedmodels` must not add a version to `cgan_t2i_shapes` by accident:
    the newest version is what zoo.load, zoo quickstart and TF Serving take."""
    from zoo import cli
    from zoo.training.config import TrainConfig
    from zoo.training.trainer import Trainer

    run = tmp_path / "gan"
    trainer = Trainer(TrainConfig(model="cgan_t2i_tiny", workdir=str(run), steps=1, batch_size=8, progress=False))
    trainer.manager.save(checkpoint_number=1)  # a run's checkpoint, without the cost of a step
    savedmodels = str(tmp_path / "savedmodels")  # the pretrained models, where zoo.load looks first
    shutil.copytree(tiny_savedmodels, savedmodels)
    monkeypatch.setenv("ZOO_SAVEDMODELS", savedmodels)
    shipped = zoo.pretrained.resolve("cgan_t2i_shapes")

    assert cli.main(["export", "--workdir", str(run), "--out", savedmodels, "--name", "cgan_t2i_shapes"]) == 2
    error = capsys.readouterr().err
    assert (f"zoo export: error: 'cgan_t2i_shapes' is a pretrained model ({shipped}); exporting yours under the "
            "same name would make zoo.load, zoo quickstart and TF Serving load one in place of the other. Give your "
            "export its own name with --name NAME (default: <model>_<workdir folder>), or add --replace-pretrained "
            "to replace it on purpose.") in error
    assert cli.main(["export", "--workdir", str(run), "--out", savedmodels]) == 0
    assert f"exported {os.path.join(savedmodels, 'cgan_t2i_tiny_gan', '1')}" in capsys.readouterr().out
    assert zoo.pretrained.resolve("cgan_t2i_shapes") == shipped
    # --replace-pretrained lets it through (to an existing version here, which export() refuses before
    # writing anything: the override is seen without the cost of a second export).
    assert cli.main(["export", "--workdir", str(run), "--out", savedmodels, "--name", "cgan_t2i_shapes",
                     "--replace-pretrained", "--version", "1"]) == 2
    assert "cgan_t2i_shapes/1' exists; TF Serving versions are immutable" in capsys.readouterr().err


def test_bad_export_name(tmp_path):
    with pytest.raises(ValueError, match="must be letters"):
        export(zoo.build("cgan_t2i_tiny"), str(tmp_path), "bad/name")


# === Inputs checked in the graph (issue 17, point 11) ===
@pytest.mark.parametrize("tiny, signature, inputs, fragments", [
    ("cgan_i2i_tiny", "serving_default", {"inputs": tf.zeros([SIZE, SIZE, 1], tf.uint8)},
     ["inputs must be uint8 [N, 32, 32, 1]; got rank] [3]", "[32 32 1]"]),
    ("cgan_i2i_tiny", "serving_default", {"inputs": tf.zeros([1, SIZE, SIZE, 3], tf.uint8)},
     ["inputs must be uint8 [N, 32, 32, 1]; got shape] [1 32 32 3]"]),
    ("cgan_i2i_tiny", "serving_default", {"inputs": tf.fill([1, SIZE, SIZE, 1], tf.constant(9, tf.uint8))},
     ["inputs must be class indices 0..8; got values up to] [9]"]),
    ("cgan_inpaint_tiny", "serving_default", {"images": tf.zeros([SIZE, SIZE, 3], tf.uint8),
                                              "masks": tf.zeros([1, SIZE, SIZE, 1], tf.uint8), "captions": tf.constant([""])},
     ["images must be uint8 [N, 32, 32, 3]; got rank] [3]"]),
    ("cgan_inpaint_tiny", "serving_default", {"images": tf.zeros([2, SIZE, SIZE, 3], tf.uint8),
                                              "masks": tf.zeros([1, SIZE, SIZE, 1], tf.uint8), "captions": tf.constant(["", ""])},
     ["masks and images must have the same batch size; got masks] [1] [images] [2]"]),
    ("cgan_t2i_tiny", "seeded", {"captions": tf.constant(["a", "b"]), "seeds": tf.constant([1], tf.int64)},
     ["seeds and captions must have the same batch size; got seeds] [1] [captions] [2]"]),
    ("cgan_i2i_tiny", "seeded", {"inputs": tf.zeros([2, SIZE, SIZE, 1], tf.uint8), "seeds": tf.constant([1], tf.int64)},
     ["seeds and inputs must have the same batch size; got seeds] [1] [inputs] [2]"]),
    ("cgan_t2i_tiny", "serving_default", {"captions": tf.constant("a red circle")},
     ["captions must be string [N]; got rank] [0]"]),
    ("captioner_tiny", "pixels", {"images": tf.zeros([1, 8, 8, 4], tf.uint8)},
     ["images must be uint8 [N, N, N, 3]; got shape] [1 8 8 4]"]),
])
def test_signatures_name_a_bad_input(exported, tiny, signature, inputs, fragments):
    _, _, paths = exported
    for _ in range(10):  # the graph's ops run in no fixed order: an op that fails first on bad input races the checks
        with pytest.raises(tf.errors.InvalidArgumentError) as raised:
            _load_once(paths[tiny]).signatures[signature](**inputs)
        for fragment in fragments:
            assert fragment in raised.value.message


@pytest.mark.parametrize("tiny, signature, inputs, output", [
    ("cgan_t2i_tiny", "seeded", {"captions": tf.zeros([0], tf.string), "seeds": tf.zeros([0], tf.int64)}, "images"),
    ("captioner_tiny", "serving_default", {"images": tf.zeros([0], tf.string)}, "captions"),
    ("captioner_tiny", "pixels", {"images": tf.zeros([0, 8, 8, 3], tf.uint8)}, "captions"),
    ("cgan_inpaint_tiny", "serving_default", {"images": tf.zeros([0, SIZE, SIZE, 3], tf.uint8),
                                              "masks": tf.zeros([0, SIZE, SIZE, 1], tf.uint8), "captions": tf.zeros([0], tf.string)}, "images"),
    ("cgan_i2i_tiny", "serving_default", {"inputs": tf.zeros([0, SIZE, SIZE, 1], tf.uint8)}, "images"),
    ("cgan_i2i_tiny", "seeded", {"inputs": tf.zeros([0, SIZE, SIZE, 1], tf.uint8), "seeds": tf.zeros([0], tf.int64)},
     "images"),
])
def test_signatures_answer_an_empty_batch_with_an_empty_batch(exported, tiny, signature, inputs, output):
    _, _, paths = exported
    assert _load_once(paths[tiny]).signatures[signature](**inputs)[output].shape[0] == 0


@functools.lru_cache(maxsize=None)
def _load_once(path):
    """Loaded once for the many bad-input cases (they only call the signatures)."""
    return _load(path)
