"""Training on several devices or machines with ``tf.distribute``, and mixed precision for GPUs (09).

Every replica (a GPU, a logical CPU device, a worker process) holds a copy of the model and takes its slice
of each global batch; the gradients are averaged across replicas before every update, so the copies stay
identical. ``make_strategy`` picks the strategy from the ``strategy`` parameter.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator

import keras
import numpy as np

from course_utils.i18n import _
from course_utils.models import TrainedModel, build_cnn
from course_utils.params import check_value

# The Keras 3 issue that keeps ``model.fit`` from running under MultiWorkerMirroredStrategy (TF 2.21).
MULTIWORKER_FIT_ISSUE = "https://github.com/keras-team/keras/issues/20585"
GPU_BATCH_SIZE = 256  # see suggested_batch_size
TF_CONFIG_EXAMPLE = (
    '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'
)


def split_cpu(n: int = 2) -> int:
    """Split the CPU into ``n`` logical devices, so ``MirroredStrategy`` can mirror across them (a way to try
    data parallelism without GPUs; not faster). Call it before anything else uses TensorFlow; too late, it
    explains what to do. Returns the number of logical CPUs."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError:
        count = len(tf.config.list_logical_devices("CPU"))
        if count != n:
            print(
                _(
                    "Could not split the CPU into {n} devices: TensorFlow has already set up its devices "
                    "({count} logical CPU). Restart the kernel and call split_cpu({n}) before anything else."
                ).format(n=n, count=count)
            )
        return count
    return len(tf.config.list_logical_devices("CPU"))


def read_tf_config() -> dict:
    """The cluster described by ``TF_CONFIG``; ``ValueError`` saying what is expected otherwise."""
    try:
        config = json.loads(os.environ.get("TF_CONFIG", ""))
        workers, index = config["cluster"]["worker"], config["task"]["index"]
        if not workers or config["task"]["type"] != "worker" or not 0 <= index < len(workers):
            raise ValueError("no worker")
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"strategy 'multiworker' needs TF_CONFIG as JSON like {TF_CONFIG_EXAMPLE}, the same cluster on "
            f"every worker and each worker's own task index ({exc})"
        ) from None
    return config


def make_strategy(name: str = "auto"):
    """The ``tf.distribute`` strategy named by the ``strategy`` parameter, with one line saying which.

    ``auto``: ``MirroredStrategy`` over all GPUs when there are several, else the default strategy (one
    device, no distribution). ``default``: always the latter. ``mirrored``: ``MirroredStrategy`` over every
    GPU, or over the logical CPUs ``split_cpu`` made. ``multiworker``: ``MultiWorkerMirroredStrategy``
    across the processes ``TF_CONFIG`` lists; create it first thing in the program (before other
    TensorFlow work), and start every worker: each waits for the others.
    """
    check_value("strategy", name)
    import tensorflow as tf

    if name == "multiworker":
        config = read_tf_config()
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        workers = len(config["cluster"]["worker"])
        where = _("worker {index} of {count}").format(index=config["task"]["index"], count=workers)
    elif name == "mirrored" or (name == "auto" and len(tf.config.list_physical_devices("GPU")) > 1):
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]  # split_cpu may have made several
        gpus = tf.config.list_physical_devices("GPU")
        strategy = tf.distribute.MirroredStrategy(devices=None if gpus or len(cpus) < 2 else cpus)
        where = ", ".join(d.split("device:")[-1] for d in strategy.extended.worker_devices)
    else:
        strategy = tf.distribute.get_strategy()
        where = _("one device, no distribution")
    replicas = strategy.num_replicas_in_sync
    in_sync = _("{count} replica in sync") if replicas == 1 else _("{count} replicas in sync")
    name = strategy_name(strategy)
    print(
        _("Strategy: {name} ({where}), {in_sync}").format(
            name=name, where=where, in_sync=in_sync.format(count=replicas)
        )
    )
    return strategy


def strategy_name(strategy) -> str:
    """``MirroredStrategy``, ``MultiWorkerMirroredStrategy``, or ``default`` for the no-op strategy."""
    name = type(strategy).__name__  # two classes have other names than the API shows
    return {
        "_DefaultDistributionStrategy": "default",
        "CollectiveAllReduceStrategy": "MultiWorkerMirroredStrategy",
    }.get(name, name)


def global_batch_size(per_replica_batch: int, strategy) -> int:
    """The batch one training step consumes: each replica's batch times the number of replicas."""
    return per_replica_batch * strategy.num_replicas_in_sync


@contextlib.contextmanager
def mixed_precision_policy(enabled: bool = True) -> Iterator[str]:
    """Within the block, new layers compute in float16 and keep float32 weights (``mixed_float16``); the
    previous policy comes back afterwards. Worth it on GPUs with float16 units; on a CPU it is slower."""
    previous = keras.mixed_precision.global_policy()
    if enabled:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield keras.mixed_precision.global_policy().name
    finally:
        keras.mixed_precision.set_global_policy(previous)


def build_cnn_for_policy(
    num_classes: int = 10, input_shape: tuple[int, int, int] = (28, 28, 1)
) -> keras.Model:
    """The lesson's CNN for the current dtype policy, its logits layer always computing in float32.

    Under ``mixed_float16`` the last ``Dense`` is rebuilt with ``dtype="float32"``: float16 logits would lose
    precision in the softmax and the loss (about 3 significant digits, overflow above 65,504).
    """
    model = build_cnn(num_classes=num_classes, input_shape=input_shape)
    if model.layers[-1].compute_dtype == "float32":
        return model

    def clone(layer):
        config = layer.get_config()
        if layer is model.layers[-1]:
            config["dtype"] = "float32"
        return type(layer).from_config(config)

    return keras.models.clone_model(model, clone_function=clone)


def suggested_batch_size(params_batch: int, on_gpu: bool | None = None) -> int:
    """A batch size that keeps the device busy: at least ``GPU_BATCH_SIZE`` (256) on a GPU, where 32 small
    images leave most cores idle; on a CPU the lesson's batch is kept. ``on_gpu=None`` looks for a GPU."""
    if on_gpu is None:
        import tensorflow as tf

        on_gpu = bool(tf.config.list_physical_devices("GPU"))
    return max(params_batch, GPU_BATCH_SIZE) if on_gpu else params_batch


def train_custom_loop(
    strategy,
    model_fn: Callable[[], keras.Model],
    dataset_arrays: tuple[np.ndarray, np.ndarray],
    epochs: int,
    global_batch: int,
    learning_rate: float = 1e-3,
    seed: int = 42,
    verbose: bool = True,
) -> TrainedModel:
    """Train ``model_fn()`` on ``(x, y)`` with a hand-written step that works under any strategy.

    Why not ``fit``: under ``MultiWorkerMirroredStrategy``, Keras 3's ``fit`` fails (MULTIWORKER_FIT_ISSUE).
    The step is ``fit``'s recipe spelled out: each replica takes its share of the global batch, divides its
    loss by the *global* batch size, and the optimizer sums the replicas' gradients before updating. Returns
    the model and the per-epoch mean ``loss`` and ``accuracy``.
    """
    import tensorflow as tf

    x, y = dataset_arrays
    with strategy.scope():
        model = model_fn()
        optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
        if model.compute_dtype == "float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
        optimizer.build(model.trainable_variables)

    # The same seed on every worker, so all agree on the order of the global batches.
    data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed, reshuffle_each_iteration=True)
    data = data.batch(global_batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    # Arrays in memory, not files: every worker reads them all and keeps its own share of each batch.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    batches = strategy.experimental_distribute_dataset(data.with_options(options))

    def replica_step(images, labels):
        with tf.GradientTape() as tape:
            logits = model(images, training=True)
            loss = tf.nn.compute_average_loss(loss_fn(labels, logits), global_batch_size=global_batch)
            scaled = optimizer.scale_loss(loss)  # the loss itself unless loss-scaling
        gradients = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        predicted = tf.argmax(logits, axis=1, output_type=labels.dtype)
        return loss, tf.reduce_sum(tf.cast(predicted == labels, tf.float32))

    @tf.function
    def train_step(batch):
        loss, correct = strategy.run(replica_step, args=batch)
        total = tf.distribute.ReduceOp.SUM
        return strategy.reduce(total, loss, axis=None), strategy.reduce(total, correct, axis=None)

    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    for epoch in range(1, epochs + 1):
        start, losses, correct, steps = time.monotonic(), 0.0, 0.0, 0
        for batch in batches:
            step_loss, step_correct = train_step(batch)
            losses, correct, steps = losses + float(step_loss), correct + float(step_correct), steps + 1
        history["loss"].append(losses / steps)
        history["accuracy"].append(correct / (steps * global_batch))
        if verbose:
            print(
                f"Epoch {epoch}/{epochs} - {steps} steps - loss: {history['loss'][-1]:.4f} - "
                f"accuracy: {history['accuracy'][-1]:.4f} - {time.monotonic() - start:.1f}s"
            )
    metadata = {"strategy": strategy_name(strategy), "replicas": strategy.num_replicas_in_sync}
    return TrainedModel(model, history, {**metadata, "global_batch": global_batch, "loop": "custom"})
