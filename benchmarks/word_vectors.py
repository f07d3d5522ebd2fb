"""Word2Vec word vectors against random initialisation for the shared token embedding, on `shapes`.

For each seed, a `matcher` (the recipes' pretraining stage: batch 64, learning rate 1e-3) trains
from its text encoder's embedding initialised randomly, or from Word2Vec vectors trained (gensim,
`zoo.text.word_vectors`, the same seed) on the shapes training captions; every `--eval-every`
steps it ranks the 200 images of the first 200 test scenes for each of their captions (all three
templates: 600 queries). It prints, per run, the steps at which text-to-image retrieval (the
caption's own scene ranked first) first reached `--target`, and the accuracy along the way.

    nice -n 10 python benchmarks/word_vectors.py --seeds 0 1 2 --max-steps 1500 --eval-every 50
"""

import argparse
import json
import os
import tempfile
import time

import keras
import numpy as np

from zoo.data import shapes, split_captions
from zoo.text.word_vectors import train_word_vectors
from zoo.training.config import TrainConfig
from zoo.training.trainer import Trainer

SCENES = 200


def test_scenes(count=SCENES):
    """uint8 images [count, 64, 64, 3] and, per caption template, the captions of the same scenes."""
    scenes = [shapes.scene("test", index, image_size=64) for index in range(count)]
    images = np.stack([s["image"] for s in scenes])
    return images, [[s["captions"][template] for s in scenes] for template in range(3)]


def text_to_image_accuracy(matcher, images, caption_sets):
    """Share of captions whose own image scores highest among all the images."""
    hits = [np.argmax(matcher.similarity(images, captions), axis=0) == np.arange(len(captions))
            for captions in caption_sets]
    return float(np.mean(hits))


def run(init, seed, vectors_path, args, images, caption_sets):
    keras.utils.set_random_seed(seed)
    overrides = {"word_vectors": vectors_path} if init == "word2vec" else {}
    if init == "word2vec" and args.freeze:
        overrides["train_word_vectors"] = False
    with tempfile.TemporaryDirectory() as workdir:
        config = TrainConfig(model="matcher", workdir=workdir, steps=args.max_steps, batch_size=args.batch_size,
                             learning_rate=1e-3, seed=seed, ema_decay=0.0, progress=False,
                             checkpoint_every=args.max_steps, summary_every=args.max_steps,
                             sample_every=args.max_steps, model_overrides=overrides)
        trainer = Trainer(config)
        try:
            step_function = trainer.step_function()
            curve, reached, start = [], None, time.perf_counter()
            for step, batch in enumerate(trainer.dataset()):
                if step >= args.max_steps:
                    break
                step_function(batch, trainer.step_seed(step))
                if (step + 1) % args.eval_every == 0:
                    accuracy = text_to_image_accuracy(trainer.task, images, caption_sets)
                    curve.append((step + 1, accuracy))
                    if accuracy >= args.target:
                        reached = step + 1
                        break
        finally:
            trainer.close()
    return {"init": init, "seed": seed, "steps_to_target": reached, "curve": curve,
            "seconds": round(time.perf_counter() - start, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-steps", type=int, default=1500)
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--dim", type=int, default=64, help="the matcher's embedding_dim")
    parser.add_argument("--freeze", action="store_true", help="keep the Word2Vec vectors frozen")
    parser.add_argument("--inits", nargs="+", default=["random", "word2vec"], choices=["random", "word2vec"])
    parser.add_argument("--json", help="write the runs as JSON")
    args = parser.parse_args()

    images, caption_sets = test_scenes()
    captions = split_captions("shapes")
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in args.seeds:
            vectors_path = os.path.join(folder, f"shapes_{seed}.kv")
            train_word_vectors(captions, dimensions=args.dim, seed=seed).save(vectors_path)
            for init in args.inits:
                result = run(init, seed, vectors_path, args, images, caption_sets)
                results.append(result)
                shown = ", ".join(f"{s}: {a:.3f}" for s, a in result["curve"][::max(1, len(result["curve"]) // 8)])
                print(f"{init:8s} seed {seed}: {result['steps_to_target'] or 'not reached in ' + str(args.max_steps)}"
                      f" steps to {args.target:.0%} ({result['seconds']} s; {shown}; last {result['curve'][-1][1]:.3f})",
                      flush=True)
    print(f"\nsteps to {args.target:.0%} text-to-image retrieval among {SCENES} test scenes "
          f"(evaluated every {args.eval_every} steps, batch {args.batch_size}):")
    for init in args.inits:
        steps = [r["steps_to_target"] for r in results if r["init"] == init]
        reached = [s for s in steps if s]
        summary = f"mean {np.mean(reached):.0f}" if len(reached) == len(steps) else f"{len(reached)} of {len(steps)} reached"
        print(f"  {init:8s} {steps}  {summary}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": {k: v for k, v in vars(args).items() if k != "json"}, "runs": results}, f, indent=1)


if __name__ == "__main__":
    main()
