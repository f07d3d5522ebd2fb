"""Quality, not speed: an FCN-score for facades label-to-photo models, the pix2pix paper's way of scoring them.

A label reader learns to segment photos into the 12 classes of the CMP facades labels: a small U-Net
at 128x128, trained only on the 400 real training photos, with mirroring and colour jitter since a
generator picks its own colours. Each model then translates the 106 test label maps, the reader reads
the outputs back, and the reading is compared with the label map the model was given:

- pixel accuracy;
- mean class accuracy;
- mean IoU over the classes.

The real test photos are read too: a generator that scores near them draws facades that the reader
finds as legible as real ones. The mean training photo gives the floor. The generators never train
against this reader, so it cannot be fooled the way a learned critic can, but it is one small network
and its errors matter: it reads only about 60% of real test pixels right.

The 12 label colours are not hard-coded. They are the k-means centres of the flat pixels of the
training label maps, i.e. pixels whose 5x5 neighbourhood varies by less than 24 levels. This leaves out
the JPEG blur at class edges. Each pixel of a label map takes its nearest centre.

    python benchmarks/facades_label_reader.py --data-path ../shared/data/facades \\
        --model "pix2pix=savedmodels/cgan_i2i_facades" --model "l1 only=savedmodels/cgan_i2i_facades_l1only"
"""

import argparse
import json
import time

import cv2
import keras
import numpy as np
import tensorflow as tf

from zoo.evaluation.real import baseline_subject, load_photos, mean_photo, parse_baselines
from zoo.evaluation.subjects import in_batches

CLASSES = 12  # the CMP facade labels: background, facade, window, door, cornice, sill, balcony, ...
SIZE = 128


def label_palette(label_maps, seed=0):
    """[12, 3] float: the label colours, most frequent first (k-means over flat pixels)."""
    pixels = []
    kernel = np.ones((5, 5), np.uint8)
    for label_map in label_maps:
        spread = (cv2.dilate(label_map, kernel).astype(np.int32) - cv2.erode(label_map, kernel)).max(-1)
        pixels.append(label_map[spread < 24][::5])
    pixels = np.concatenate(pixels).astype(np.float32)
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 100, 0.2)
    _, labels, centres = cv2.kmeans(pixels, CLASSES, None, criteria, 8, cv2.KMEANS_PP_CENTERS)
    return centres[np.argsort(-np.bincount(labels[:, 0], minlength=CLASSES))]


def resized(images):
    """float32 [N, SIZE, SIZE, 3]: the reader's resolution (area averaging)."""
    small = [cv2.resize(image, (SIZE, SIZE), interpolation=cv2.INTER_AREA) for image in images]
    return np.stack(small).astype(np.float32)


def label_classes(label_maps, palette):
    """int32 [N, SIZE, SIZE]: each pixel's nearest label colour."""
    distances = ((resized(label_maps)[..., None, :] - palette) ** 2).sum(-1)
    return distances.argmin(-1).astype(np.int32)


def reader_inputs(photos):
    return resized(photos) / 127.5 - 1.0


def build_reader(channels=(16, 32, 64, 128, 128)):
    def block(x, width):
        for _ in range(2):
            x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
            x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
        return x

    inputs = keras.Input((SIZE, SIZE, 3))
    x, skips = inputs, []
    for width in channels[:-1]:
        x = block(x, width)
        skips.append(x)
        x = keras.layers.MaxPool2D()(x)
    x = block(x, channels[-1])
    for width, skip in zip(reversed(channels[:-1]), reversed(skips)):
        x = keras.layers.UpSampling2D(interpolation="bilinear")(x)
        x = block(keras.layers.Concatenate()([x, skip]), width)
    return keras.Model(inputs, keras.layers.Conv2D(CLASSES, 1)(x), name="facades_label_reader")


def train_reader(photos, classes, steps, seed):
    keras.utils.set_random_seed(seed)

    def augment(image, label):
        mirror = tf.random.uniform([]) < 0.5
        image = tf.where(mirror, image[:, ::-1], image)
        label = tf.where(mirror, label[:, ::-1], label)
        return image + tf.random.uniform([1, 1, 3], -0.1, 0.1), label  # a generator picks its own colours

    data = (tf.data.Dataset.from_tensor_slices((reader_inputs(photos), classes)).shuffle(len(photos), seed=seed)
            .repeat().map(augment).batch(8, drop_remainder=True).prefetch(2))
    reader = build_reader()
    reader.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, steps)),
                   keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    epochs = 10
    history = reader.fit(data, steps_per_epoch=steps // epochs, epochs=epochs, verbose=2)
    return reader, float(history.history["accuracy"][-1])


def scores(reader, images, truth):
    read = reader.predict(reader_inputs(images), batch_size=32, verbose=0).argmax(-1)
    present = [c for c in range(CLASSES) if (truth == c).any()]
    class_accuracy = [((read == c) & (truth == c)).sum() / (truth == c).sum() for c in present]
    iou = [((read == c) & (truth == c)).sum() / ((read == c) | (truth == c)).sum() for c in present]
    return {"pixel_accuracy": round(float((read == truth).mean()), 4),
            "class_accuracy": round(float(np.mean(class_accuracy)), 4), "mean_iou": round(float(np.mean(iou)), 4)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-path", required=True, help="the facades folder (train/, test/)")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=DIR",
                        help="an image-to-image export or workdir at 256 px (repeat for more)")
    parser.add_argument("--steps", type=int, default=3000, help="the reader's training steps (batch 8)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the scores here")
    args = parser.parse_args()

    train_photos, train_maps = load_photos("facades", args.data_path, "train", 256)
    test_photos, test_maps = load_photos("facades", args.data_path, "test", 256)
    palette = label_palette(train_maps, args.seed)
    started = time.time()
    reader, train_accuracy = train_reader(train_photos, label_classes(train_maps, palette), args.steps, args.seed)
    print(f"reader: {args.steps} steps in {time.time() - started:.0f} s, training pixel accuracy {train_accuracy:.3f}")
    truth = label_classes(test_maps, palette)
    mean, _ = mean_photo("facades", args.data_path, 256)
    columns = {"real photos": test_photos, "mean photo": np.repeat(mean[None], len(test_photos), axis=0)}
    for name, path in parse_baselines(args.model).items():
        columns[name] = in_batches(baseline_subject(path)[0].translate, 50, test_maps)
    results = {}
    for name, images in columns.items():
        results[name] = scores(reader, images, truth)
        print(f"{name:24s} " + "  ".join(f"{k} {v:.3f}" for k, v in results[name].items()), flush=True)
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"reader_steps": args.steps, "seed": args.seed, "reader_train_accuracy": round(train_accuracy, 4),
                       "palette": np.round(palette).astype(int).tolist(), "pairs": len(test_photos),
                       "scores": results}, file, indent=1)


if __name__ == "__main__":
    main()
