"""One worker of the two-worker test in test_distribute.py: train a few steps, save the weights.

Run as ``TF_CONFIG=... python multiworker_worker.py OUT.npz``; every worker of the cluster runs it at the
same time. It trains the course's model with ``train_with_strategy`` and ``strategy="multiworker"`` (so
MultiWorkerMirroredStrategy and the custom training loop) on a slice of the offline sample, as a learner's
worker script would, and writes the initial and final weights and the loss to ``OUT.npz``.
"""

import argparse
import dataclasses

import numpy as np

import course_utils
from course_utils.data import load_sample
from course_utils.params import check_params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="the .npz file to write")
    parser.add_argument("--images", type=int, default=256, help="training images from the offline sample")
    parser.add_argument("--batch", type=int, default=32, help="batch size per replica")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    course_utils.quiet_tensorflow_logs()  # before anything imports TensorFlow
    from course_utils import distribute, training

    data = load_sample()
    data = dataclasses.replace(data, x_train=data.x_train[: args.images], y_train=data.y_train[: args.images])
    params = check_params(strategy="multiworker", epochs=args.epochs, batch_size=args.batch, seed=args.seed)

    # Record the weights the model starts from, to show that training changed them.
    initial: list[np.ndarray] = []
    build = distribute.build_cnn_for_policy

    def build_and_record(*args, **kwargs):
        model = build(*args, **kwargs)
        initial.extend(model.get_weights())
        return model

    distribute.build_cnn_for_policy = build_and_record
    trained = training.train_with_strategy(params, data)
    np.savez(
        args.output,
        replicas=trained.metadata["replicas"],
        global_batch=trained.metadata["global_batch"],
        loop=trained.metadata["loop"],
        loss=np.array(trained.history["loss"]),
        **{f"initial_{i}": w for i, w in enumerate(initial)},
        **{f"final_{i}": w for i, w in enumerate(trained.model.get_weights())},
    )


if __name__ == "__main__":
    main()
