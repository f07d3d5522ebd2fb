"""`init_networks`: a run starts whole networks from another run's (a CVAE's decoder as a GAN's generator)."""

import numpy as np
import pytest
import tensorflow as tf

from zoo.training.config import TrainConfig
from zoo.training.runs import load_trained, steps_before
from zoo.training.trainer import Trainer

# With CoordConv on both sides (the plain decoder copies by the same code).
GAN_OVERRIDES = {"conditioning": "direct", "latent_encoder": True, "noise_dim": 8, "coordinates": True}


@pytest.fixture(scope="module")
def cvae_run(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("cvae"))
    trainer = Trainer(TrainConfig(model="cvae_t2i_tiny", workdir=workdir, steps=2, batch_size=4, progress=False,
                                  sample_every=100, checkpoint_every=2, model_overrides={"coordinates": True}))
    trainer.fit()
    return workdir


def test_the_generator_and_encoder_start_as_the_cvae_decoder_and_encoder(cvae_run, tmp_path):
    config = TrainConfig(model="cgan_t2i_tiny", workdir=str(tmp_path / "gan"), steps=1, init_from=cvae_run,
                         init_networks={"generator": "decoder", "encoder": "encoder"}, model_overrides=GAN_OVERRIDES)
    gan = Trainer(config).task
    cvae = load_trained(cvae_run)
    tokens = cvae.tokenize(["a small red circle in the center", "a large blue square on the left"])
    sentence = cvae.text_encoder(tokens)["sentence"]
    np.testing.assert_allclose(gan.text_encoder(tokens)["sentence"], sentence, atol=1e-6)
    latent = tf.random.stateless_normal((2, 8), seed=[1, 2])
    np.testing.assert_allclose(
        gan.generator({"noise": latent, "sentence": sentence, "condition_noise": tf.zeros((2, 8))})["images"],
        cvae.decoder({"latent": latent, "sentence": sentence}), atol=1e-5)
    images = tf.random.stateless_uniform((2, 32, 32, 3), seed=[3, 4], minval=-1.0)
    for key in ("mean", "log_variance"):
        np.testing.assert_allclose(gan.encoder({"images": images, "sentence": sentence})[key],
                                   cvae.encoder({"images": images, "sentence": sentence})[key], atol=1e-5)


def test_the_steps_behind_a_run_count_those_of_the_workdir_it_started_from(cvae_run, tmp_path):
    first = TrainConfig(model="cgan_t2i_tiny", workdir=str(tmp_path / "gan"), init_from=cvae_run,
                        init_networks={"generator": "decoder"})
    assert steps_before(first) == 2  # the cvae run's newest checkpoint
    (tmp_path / "gan" / "checkpoints").mkdir(parents=True)
    first.save(str(tmp_path / "gan" / "config.json"))
    (tmp_path / "gan" / "checkpoints" / "ckpt-3.index").write_bytes(b"")  # three steps of its own
    second = TrainConfig(model="cgan_t2i_tiny", workdir=str(tmp_path / "next"), init_from=str(tmp_path / "gan"))
    assert steps_before(second) == 3 + 2


def test_networks_that_do_not_fit_are_one_clear_error(cvae_run, tmp_path):
    with pytest.raises(ValueError, match=r"'discriminator' -> 'critic'.*has networks"):
        Trainer(TrainConfig(model="cgan_t2i_tiny", workdir=str(tmp_path / "a"), steps=1, init_from=cvae_run,
                            init_networks={"discriminator": "critic"}, model_overrides=GAN_OVERRIDES))
    with pytest.raises(ValueError, match="Cannot copy"):  # StackGAN conditioning: other layers
        Trainer(TrainConfig(model="cgan_t2i_tiny", workdir=str(tmp_path / "b"), steps=1, init_from=cvae_run,
                            init_networks={"generator": "decoder"}, model_overrides={"noise_dim": 8}))
    with pytest.raises(ValueError, match="Cannot copy"):  # a generator without the decoder's coordinate channels
        Trainer(TrainConfig(model="cgan_t2i_tiny", workdir=str(tmp_path / "d"), steps=1, init_from=cvae_run,
                            init_networks={"generator": "decoder"},
                            model_overrides={**GAN_OVERRIDES, "coordinates": False}))
    with pytest.raises(ValueError, match="has none of the networks a run takes from another run's workdir"):
        # An inpainter without text shares no text encoder: without init_networks nothing would be copied.
        Trainer(TrainConfig(model="cgan_inpaint_tiny", workdir=str(tmp_path / "e"), steps=1, init_from=cvae_run,
                            model_overrides={"use_text": False}))
    with pytest.raises(ValueError, match="needs init_from"):
        TrainConfig(model="cgan_t2i_tiny", workdir=str(tmp_path / "c"), init_networks={"generator": "decoder"})
