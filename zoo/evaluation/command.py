"""`zoo evaluate NAME (--workdir DIR | --savedmodel DIR)`: what the command does, for `zoo.cli`.

Example:
    zoo evaluate cgan_t2i --workdir runs/cgan_t2i_shapes/gan --split test --out t2i.json --plot t2i.png
    zoo evaluate captioner --savedmodel savedmodels/captioner_shapes --split test_compositional
    zoo evaluate cgan_i2i_facades --savedmodel savedmodels/cgan_i2i_facades --data facades \
        --data-path ../shared/data/facades --baseline "l1 only=runs/l1only/pix2pix"
    zoo evaluate cgan_inpaint_facades --workdir runs/inpaint --data facades \
        --data-path ../shared/data/facades --masks ../shared/data/masks
"""

import os

from zoo.evaluation.evaluate import evaluate
from zoo.evaluation.plots import plot_samples
from zoo.evaluation.real import parse_baselines
from zoo.evaluation.subjects import SavedModelSubject, shown_path


def model_to_evaluate(name, workdir=None, savedmodel=None, raw_weights=False, best=False):
    """The model `zoo evaluate` scores: a trained run, an exported SavedModel, or (neither) `name` untrained.

    `name` is a registered model name; it must be what the workdir trained, or of the
    SavedModel's task kind (and family, when the export records it). A workdir gives its
    EMA weights, or with `raw_weights` the trained ones (as `zoo export --raw-weights`); with
    `best`, those of the checkpoint the run kept as its best (`TrainConfig.keep_best`).

    Returns:
        (a Task or a `SavedModelSubject`, how to name it in the results).
    """
    import zoo
    from zoo.registry import get_entry
    from zoo.training.runs import check_weights_choice

    entry = get_entry(name)  # an unknown name fails here, with the closest names
    if workdir and savedmodel:
        raise ValueError("Give --workdir or --savedmodel, not both.")
    check_weights_choice(workdir, raw_weights, best)
    if workdir:
        weights = " (raw weights)" if raw_weights else ""
        chosen = " (its best checkpoint)" if best else ""
        return _trained(name, workdir, raw_weights, best), f"{name} trained in {shown_path(workdir)}{chosen}{weights}"
    if savedmodel:
        subject = SavedModelSubject(savedmodel)
        if subject.kind != entry.task:
            raise ValueError(f"{name!r} is a model of kind {entry.task}, but the SavedModel {subject.path!r} is "
                             f"of kind {subject.kind}; give the name of the model that was exported.")
        family = subject.metadata.get("family")
        if family and name != family and not name.startswith(family + "_"):
            raise ValueError(f"The SavedModel {subject.path!r} was exported from {family!r}, not {name!r}.")
        return subject, f"{name} from {shown_path(subject.path)}"
    return zoo.build(name).build_all(), f"{name} (untrained)"


def _trained(name, workdir, raw_weights=False, best=False):
    from zoo.training.config import TrainConfig
    from zoo.training.runs import load_trained

    config_path = os.path.join(workdir, "config.json")
    if not os.path.exists(config_path):
        raise FileNotFoundError(f"No training run in {workdir!r} (no config.json); give a `zoo train` workdir "
                                "(for a recipe, its stage folder, e.g. runs/cgan_t2i_shapes/gan).")
    trained = TrainConfig.load(config_path).model
    if trained != name:
        raise ValueError(f"{workdir!r} trained {trained!r}, not {name!r}.")
    return load_trained(workdir, use_ema=not raw_weights, best=best)


def evaluate_command(name, workdir=None, savedmodel=None, data="shapes", split="test", num_examples=None,
                     batch_size=100, seed=0, out=None, plot=None, raw_weights=False, data_path=None, masks=None,
                     baselines=None, inception_weights=None, mask_kinds=None, best=False):
    """Evaluate, print the table, write the JSON (`out`) and the sample grid (`plot`); returns the result.

    `baselines`: "NAME=DIR" texts (--baseline), each a SavedModel or training workdir; real data only.
    """
    baselines = parse_baselines(baselines)  # a malformed one fails before any model loads
    model, description = model_to_evaluate(name, workdir, savedmodel, raw_weights, best)
    for path in (out, plot):
        if path and os.path.dirname(path) and not os.path.isdir(os.path.dirname(path)):
            raise FileNotFoundError(f"Cannot write {path!r}: folder {os.path.dirname(path)!r} does not exist.")
    result = evaluate(model, data=data, split=split, num_examples=num_examples, batch_size=batch_size,
                      seed=seed, name=description, data_path=data_path, masks=masks, baselines=baselines or None,
                      inception_weights=inception_weights, mask_kinds=mask_kinds)
    print(result.table())
    if out:
        result.write_json(out)
        print(f"wrote {out}")
    if plot:
        plot_samples(result, plot)
        print(f"wrote {plot}")
    return result

