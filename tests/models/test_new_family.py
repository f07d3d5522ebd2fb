"""A family is one folder: adding `zoo/models/<family>/` and no other file gives a model that
builds, lists, trains, checkpoints and generates.

The toy family is written into a copy of the package (so the real one is never touched)
and exercised in a fresh interpreter that imports that copy.
"""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import zoo

TOY_MODEL = '''
"""`toy_t2i`: a caption's sentence vector through one dense layer to pixels."""

import dataclasses

import keras
import tensorflow as tf

from zoo.models.base import TextToImageTask, TaskConfig
from zoo.registry import register_presets


@dataclasses.dataclass
class ToyConfig(TaskConfig):
    pass


@keras.saving.register_keras_serializable(package="toy")
class ToyText2Image(TextToImageTask):
    family = "toy_t2i"
    config_class = ToyConfig

    def __init__(self, config=None, vocabulary=None, text_encoder=None, **kwargs):
        super().__init__(config, vocabulary, text_encoder, **kwargs)
        sentence = keras.Input((self.text_encoder.feature_dim,), name="sentence")
        size = self.config.image_size
        pixels = keras.layers.Dense(size * size * 3, activation="tanh", name="pixels")(sentence)
        self.decoder = keras.Model(sentence, keras.layers.Reshape((size, size, 3))(pixels), name="decoder")

    def networks(self):
        return {"text_encoder": self.text_encoder, "decoder": self.decoder}

    def example_inputs(self, batch_size=2):
        return {"tokens": self.tokenize(["a small red circle in the center"] * batch_size)}

    def call(self, inputs, training=False):
        sentence = self.text_encoder(inputs["tokens"], training=training)["sentence"]
        return {"images": self.decoder(sentence, training=training)}

    def images_from_tokens(self, tokens, seeds):
        return self({"tokens": tokens})["images"]


register_presets(ToyText2Image, {
    "toy_t2i": ("Toy family", {}),
    "toy_t2i_tiny": ("Toy family for tests (32x32)", {"image_size": 32, "embedding_dim": 8, "text_units": 8}),
})
'''

TOY_STEPS = '''
import tensorflow as tf

from zoo.training.steps import FamilySteps, register_steps
from zoo.training.steps.common import apply_gradients


def train_step(task, optimizers, batch, seed, hparams):
    with tf.GradientTape() as tape:
        images = task({"tokens": batch["tokens"]}, training=True)["images"]
        loss = tf.reduce_mean(tf.abs(tf.cast(images, tf.float32) - batch["image"]))
    apply_gradients(optimizers["model"], tape, loss, task.trainable_variables)
    return {"loss": loss}


register_steps(FamilySteps(family="toy_t2i", train_step=train_step,
                           optimizer_groups=lambda task: {"model": task.trainable_variables}))
'''

SCRIPT = textwrap.dedent('''
    import sys
    import numpy as np
    import zoo
    from zoo.models import family_names
    from zoo.training.config import TrainConfig
    from zoo.training.trainer import Trainer

    assert zoo.__file__.startswith(sys.argv[2]), zoo.__file__  # the copy with the new folder
    assert "toy_t2i" in family_names()
    assert {"toy_t2i", "toy_t2i_tiny"} <= set(zoo.list_models(task="text-to-image"))
    config = TrainConfig(model="toy_t2i_tiny", workdir=sys.argv[1], steps=1, batch_size=8, learning_rate=1e-2,
                         checkpoint_every=30, sample_every=1000, progress=False)
    first = Trainer(config).fit()["loss"]
    trainer = Trainer(config.with_overrides(["steps=30"]), resume=True)
    last = trainer.fit()["loss"]
    assert last < 0.8 * first, (first, last)
    images = trainer.task.generate(["a large red circle on the left"], seeds=0)
    assert images.shape == (1, 32, 32, 3) and images.dtype == np.uint8
    print("trained", int(trainer.step_counter))
''')


def test_a_family_is_one_folder(tmp_path):
    package = tmp_path / "zoo"
    shutil.copytree(Path(zoo.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    family = package / "models" / "toy_t2i"
    family.mkdir()
    (family / "__init__.py").write_text('"""A toy family."""\n')
    (family / "model.py").write_text(TOY_MODEL)
    (family / "steps.py").write_text(TOY_STEPS)
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "run"), str(tmp_path)], cwd=tmp_path,
                          env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3",
                               "HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "trained 30" in done.stdout
    assert (tmp_path / "run" / "checkpoints" / "ckpt-30.index").is_file()
